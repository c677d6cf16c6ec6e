use super::*;
use base64::Engine;

const CANARY: &str = "canary-7f3a9c2e51d84b60a1f2";

fn detector() -> LeakDetector {
    let canary = Secret::new(CANARY);
    LeakDetector::new([("provider/canary", &canary)], LeakPolicy::default())
}

fn forms_found(text: &str) -> Vec<Form> {
    detector()
        .scan(text)
        .into_iter()
        .filter_map(|leak| match leak.kind {
            LeakKind::VaultSecret { form, .. } => Some(form),
            LeakKind::Credential { .. } => None,
        })
        .collect()
}

#[test]
fn the_vault_secret_is_found_in_every_disguise() {
    let b64 = base64::engine::general_purpose::STANDARD.encode(CANARY);
    let inside_b64 = base64::engine::general_purpose::STANDARD.encode(format!("token={CANARY};"));
    let reversed: String = CANARY.chars().rev().collect();
    let spaced: String = CANARY.chars().map(|c| format!("{c} ")).collect();
    let cases = [
        (format!("the key is {CANARY}."), Form::Exact),
        (format!("b64: {b64}"), Form::Base64),
        (format!("blob {inside_b64}"), Form::Base64),
        (format!("hex {}", hex::encode(CANARY)), Form::Hex),
        (format!("HEX {}", hex::encode_upper(CANARY)), Form::Hex),
        (format!("backwards {reversed}"), Form::Reversed),
        (format!("spelled {spaced}"), Form::Separated),
        (
            format!("shouted {}", CANARY.to_uppercase()),
            Form::Separated,
        ),
    ];
    for (text, form) in cases {
        assert_eq!(forms_found(&text), vec![form], "in {text:?}");
    }
    assert!(forms_found("canary-7f3a9c2e51 is only part of it").is_empty());
}

#[test]
fn redaction_replaces_each_hit_and_keeps_the_rest() {
    let text = format!("a {CANARY} b sk-proj-abcdefghijklmnopqrstuvwx c");
    let (redacted, leaks) = detector().redact(&text);
    assert_eq!(
        redacted,
        "a [REDACTED:provider/canary] b [REDACTED:openai-key] c"
    );
    assert_eq!(leaks.len(), 2);
    let (clean, none) = detector().redact("nothing secret here");
    assert!(matches!(clean, Cow::Borrowed(_)) && none.is_empty());
}

#[test]
fn each_destination_gets_its_rule() {
    let detector = detector();
    let text = format!("send {CANARY}");
    let outbound = detector.check(Sink::Outbound, &text);
    assert_eq!(outbound.action, LeakAction::Block);
    assert!(
        outbound.text.is_none(),
        "a request carrying the secret is blocked"
    );
    let stored = detector.check(Sink::Storage, &text);
    assert!(!stored.text.unwrap().contains(CANARY));
    let warn = LeakDetector::new(
        [("x", &Secret::new(CANARY))],
        LeakPolicy {
            log: LeakAction::Warn,
            ..LeakPolicy::default()
        },
    );
    let logged = warn.check(Sink::Log, &text);
    assert_eq!(
        (logged.text.unwrap().as_ref(), logged.leaks.len()),
        (text.as_str(), 1)
    );
}

#[test]
fn short_secrets_do_not_match_ordinary_words() {
    let pin = Secret::new("1234");
    let detector = LeakDetector::new([("pin", &pin)], LeakPolicy::default());
    assert_eq!(
        detector.scan("call 1-2-3-4 or 12 34").len(),
        0,
        "a short secret is matched exactly only"
    );
    assert_eq!(detector.scan("pin 1234").len(), 1);
    assert!(format!("{detector:?}").contains("pin") && !format!("{detector:?}").contains("1234"));
}
