//! Tools on the real engine and the tiny model: their schemas enter the
//! chat template, scripted call text (the test setting) comes back as
//! parsed calls, past calls replay, and `tool_choice` naming a tool
//! constrains even random weights to a call that fits its schema.

use crate::tiny_model;
use futures::StreamExt;
use pincer_inference::*;
use serde_json::json;

fn read_tool() -> ToolDefinition {
    ToolDefinition {
        name: "read_file".into(),
        description: "Read a text file.".into(),
        parameters: json!({"type": "object", "additionalProperties": false, "required": ["path"],
            "properties": {"path": {"type": "string", "enum": ["a.md", "b.md"]}}}),
    }
}

fn request(
    messages: Vec<ChatMessage>,
    tools: Vec<ToolDefinition>,
    choice: ToolChoice,
) -> GenerationRequest {
    GenerationRequest {
        messages,
        params: GenerationParams {
            max_tokens: Some(120),
            temperature: Some(0.0),
            tools,
            tool_choice: choice,
            ..Default::default()
        },
    }
}

async fn engine(script: Option<std::path::PathBuf>) -> Engine {
    let source = ModelSource::inspect(&tiny_model().join("model.gguf")).expect("inspect");
    Engine::load(
        source,
        EngineOptions {
            script,
            ..Default::default()
        },
    )
    .await
    .expect("load")
}

async fn events(engine: &Engine, request: GenerationRequest) -> Vec<GenerationEvent> {
    let mut stream = engine.try_generate(request).expect("start");
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event.expect("event"));
    }
    events
}

fn prompt_tokens(events: &[GenerationEvent]) -> usize {
    match events.last() {
        Some(GenerationEvent::Finished { stats, .. }) => stats.prompt_tokens,
        other => panic!("no finish: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripted_call_text_comes_back_as_a_parsed_call() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.json");
    let say = format!(
        "Checking.\n{}",
        call_text("read_file", r#"{"path": "a.md"}"#)
    );
    std::fs::write(
        &script,
        json!([{"when": "look it up", "say": say}]).to_string(),
    )
    .unwrap();
    let engine = engine(Some(script)).await;
    let asked = vec![ChatMessage::new(Role::User, "please look it up")];
    let got = events(
        &engine,
        request(asked.clone(), vec![read_tool()], ToolChoice::Auto),
    )
    .await;
    let content: String = got
        .iter()
        .filter_map(|e| match e {
            GenerationEvent::Delta { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(content, "Checking.\n");
    let calls: Vec<&ToolCall> = got
        .iter()
        .filter_map(|e| match e {
            GenerationEvent::ToolCall(call) => Some(call),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 1, "{got:?}");
    assert_eq!(
        (calls[0].name.as_str(), calls[0].arguments.as_str()),
        ("read_file", r#"{"path":"a.md"}"#)
    );
    assert!(calls[0].id.starts_with("call_"));
    assert!(matches!(
        got.last(),
        Some(GenerationEvent::Finished {
            reason: FinishReason::ToolCalls,
            ..
        })
    ));
    // Asked again, the prompt comes from the prefix cache (mistral.rs then
    // shows the sampler only the uncached part first): the script holds.
    let again = events(
        &engine,
        request(asked.clone(), vec![read_tool()], ToolChoice::Auto),
    )
    .await;
    assert!(
        again
            .iter()
            .any(|e| matches!(e, GenerationEvent::ToolCall(call) if call.name == "read_file")),
        "{again:?}"
    );

    // Without tools the same text is only text: nothing parses it.
    let plain = events(&engine, request(asked, vec![], ToolChoice::Auto)).await;
    assert!(plain
        .iter()
        .all(|e| !matches!(e, GenerationEvent::ToolCall(_))));
    assert!(matches!(
        plain.last(),
        Some(GenerationEvent::Finished {
            reason: FinishReason::Stop,
            ..
        })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tool_schemas_and_replayed_calls_are_part_of_the_prompt() {
    let engine = engine(None).await;
    let question = vec![ChatMessage::new(Role::User, "hi")];
    let mut short = request(question.clone(), vec![], ToolChoice::Auto);
    short.params.max_tokens = Some(1);
    let bare = prompt_tokens(&events(&engine, short.clone()).await);
    let mut with_tools = request(question.clone(), vec![read_tool()], ToolChoice::None);
    with_tools.params.max_tokens = Some(1);
    let tooled = prompt_tokens(&events(&engine, with_tools.clone()).await);
    assert!(
        tooled > bare + 50,
        "the schema adds to the prompt: {bare} -> {tooled}"
    );

    let mut history = question;
    history.push(ChatMessage {
        role: Role::Assistant,
        tool_calls: vec![ToolCall {
            id: "call_1".into(),
            name: "read_file".into(),
            arguments: r#"{"path":"a.md"}"#.into(),
        }],
        ..ChatMessage::default()
    });
    history.push(ChatMessage {
        role: Role::Tool,
        content: "the text of a.md".into(),
        tool_call_id: Some("call_1".into()),
        ..ChatMessage::default()
    });
    with_tools.messages = history;
    let replayed = prompt_tokens(&events(&engine, with_tools).await);
    let call =
        "<tool_call>\n{\"arguments\":{\"path\":\"a.md\"},\"name\":\"read_file\"}\n</tool_call>";
    let result = "<tool_response>\nthe text of a.md\n</tool_response>";
    let floor = engine
        .tokenize_text(&format!("{call}{result}"))
        .await
        .unwrap()
        .len();
    assert!(
        replayed >= tooled + floor,
        "the call and its result are replayed: {tooled} -> {replayed} (at least {floor} more)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_tool_choice_makes_random_weights_call_it_validly() {
    let engine = engine(None).await;
    let asked = vec![ChatMessage::new(Role::User, "anything")];
    let other = ToolDefinition {
        name: "other".into(),
        description: "Something else.".into(),
        parameters: json!({"type": "object", "properties": {}}),
    };
    let mut req = request(
        asked,
        vec![other, read_tool()],
        ToolChoice::Named("read_file".into()),
    );
    req.params.temperature = Some(1.0);
    req.params.seed = Some(7);
    let got = events(&engine, req).await;
    let call = got
        .iter()
        .find_map(|e| match e {
            GenerationEvent::ToolCall(call) => Some(call.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a constrained answer is a call: {got:?}"));
    assert_eq!(call.name, "read_file");
    let arguments: serde_json::Value = serde_json::from_str(&call.arguments).unwrap();
    let path = arguments["path"].as_str().unwrap_or_default();
    assert!(["a.md", "b.md"].contains(&path), "{arguments}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_tool_definitions_are_refused_before_generating() {
    let engine = engine(None).await;
    let bad = ToolDefinition {
        name: "read file".into(),
        description: String::new(),
        parameters: json!({"type": "object"}),
    };
    let asked = vec![ChatMessage::new(Role::User, "x")];
    match engine.try_generate(request(asked, vec![bad], ToolChoice::Auto)) {
        Err(InferenceError::InvalidRequest(message)) => {
            assert!(message.contains("read file"), "{message}")
        }
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("an unusable tool name was taken"),
    }
}
