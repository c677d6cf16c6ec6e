use super::*;

fn vote(score: i8, hint: Option<&str>) -> Vote {
    Vote {
        score,
        reasoning: String::new(),
        hint: hint.map(str::to_string),
    }
}

#[test]
fn answers_are_parsed_leniently_and_malformed_ones_are_zero() {
    let v = parse("Score: -1\nReason: The user had to repeat the question.\nHint: Answer with the number only.");
    assert_eq!(
        (v.score, v.reasoning.as_str(), v.hint.as_deref()),
        (
            -1,
            "The user had to repeat the question.",
            Some("Answer with the number only.")
        )
    );
    assert_eq!(
        parse("**Score:** +1\n**Reason:** thanked\n**Hint:** NONE").score,
        1
    );
    assert_eq!(parse("score: 1.\nhint: none").hint, None);
    assert_eq!(parse("Score: −1").score, -1, "a typographic minus");
    for bad in [
        "",
        "I think it was good",
        "Score: maybe",
        "Score: 2",
        "Score:",
        "Reason: x",
    ] {
        let v = parse(bad);
        assert_eq!(v.score, 0, "{bad:?}");
        assert!(
            v.reasoning.starts_with("malformed"),
            "{bad:?}: {}",
            v.reasoning
        );
    }
}

#[test]
fn hints_must_be_short_real_direction() {
    assert_eq!(
        valid_hint(" Keep it under three sentences. "),
        Some("Keep it under three sentences.".into())
    );
    assert_eq!(valid_hint("NONE"), None);
    assert_eq!(valid_hint("n/a."), None);
    assert_eq!(valid_hint("Shorter."), None, "too few words");
    assert_eq!(
        valid_hint("One. Two is here. Three is here. Four is here."),
        None,
        "more than three sentences"
    );
    assert_eq!(valid_hint(&"word ".repeat(100)), None, "too long");
}

#[test]
fn the_majority_wins_ties_are_zero_and_feedback_overrides() {
    assert_eq!(
        decide(
            vec![vote(1, None), vote(1, None), vote(-1, None)],
            None,
            None,
            "j"
        )
        .score,
        1
    );
    assert_eq!(
        decide(
            vec![vote(-1, None), vote(0, None), vote(-1, None)],
            None,
            None,
            "j"
        )
        .score,
        -1
    );
    assert_eq!(
        decide(
            vec![vote(1, None), vote(-1, None), vote(0, None)],
            None,
            None,
            "j"
        )
        .score,
        0,
        "three-way tie"
    );
    assert_eq!(
        decide(vec![vote(1, None), vote(-1, None)], None, None, "j").score,
        0,
        "two-way tie"
    );
    assert_eq!(decide(vec![], None, None, "j").score, 0, "no votes");
    // A malformed answer is a 0 vote, so it can break a majority.
    let malformed = parse("garbage");
    assert_eq!(
        decide(
            vec![vote(1, None), malformed.clone(), malformed],
            None,
            None,
            "j"
        )
        .score,
        0
    );
    // Explicit feedback wins over any vote.
    assert_eq!(
        decide(vec![vote(1, None); 3], Some("down"), None, "j").score,
        -1
    );
    assert_eq!(
        decide(vec![vote(-1, None); 3], Some("up"), None, "j").score,
        1
    );
    let edited = decide(vec![vote(1, None); 3], Some("edit"), Some("It is 4."), "j");
    assert_eq!(
        (edited.score, edited.hint.as_deref()),
        (-1, Some("The owner rewrote the answer as: It is 4."))
    );
}

#[test]
fn the_longest_valid_hint_is_kept_and_builds_the_teacher_context() {
    let votes = vec![
        vote(-1, Some("Be shorter.")),
        vote(
            -1,
            Some("Answer in one short sentence, without a preamble."),
        ),
        vote(-1, None),
    ];
    let judgment = decide(votes, None, None, "tiny");
    assert_eq!(
        judgment.hint.as_deref(),
        Some("Answer in one short sentence, without a preamble.")
    );
    assert_eq!(judgment.votes.len(), 3);
    let messages = [
        Message::new("system", "soul"),
        Message::new("user", "What is 2+2?"),
        Message::new("assistant", "4"),
        Message::new("user", "And 3+3?"),
    ];
    let teacher = teacher_messages(&messages, judgment.hint.as_deref().unwrap());
    assert_eq!(
        teacher[3].content,
        "And 3+3?\n\n[Hint: Answer in one short sentence, without a preamble.]"
    );
    assert_eq!(
        teacher[..3],
        messages[..3],
        "only the last user message changes"
    );
}

#[test]
fn the_prompt_shows_context_answer_and_next_state_and_leaves_out_the_system() {
    let context = [
        Message::new("system", "SECRET SOUL"),
        Message::new("user", "Summarise the report."),
    ];
    let turn = Turn {
        context: &context,
        answer: "Here is a long summary…",
        next_kind: "user_reply",
        next_text: "shorter please",
    };
    let messages = prompt(&turn);
    assert_eq!(messages.len(), 2);
    assert!(messages[0].content.contains("Score: +1, 0 or -1"));
    let body = &messages[1].content;
    assert!(
        body.contains("[user] Summarise the report.")
            && body.contains("Here is a long summary")
            && body.contains("shorter please")
    );
    assert!(body.contains("the user's next message"));
    assert!(!body.contains("SECRET SOUL"));
}
