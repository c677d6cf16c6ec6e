//! Reading ahead: the start every own chat turn shares (the soul files,
//! the skill catalog and the tools' schemas, several thousand tokens) is
//! read into the engine's prefix cache before anyone asks, so the first
//! turn after start pays only for its question. On a CPU that start is
//! most of a first answer's wait.

use crate::{Agent, AgentError, Result};
use futures::StreamExt;
use pincer_inference::{
    ChatMessage, GenerationEvent, GenerationParams, GenerationRequest, GenerationStats, Role,
};

impl Agent {
    /// Reads the shared start of the owner's chat turns into the engine,
    /// as a one-token generation that nothing saves or records. Returns
    /// the engine's figures for it.
    pub async fn read_prompt_ahead(&self) -> Result<GenerationStats> {
        if self.is_halted() {
            return Err(AgentError::Halted);
        }
        let engine = self.engine().ok_or(AgentError::NoModel)?;
        let tools = self.tool_definitions();
        let (system, _) = self.leading_system(true, &tools).await;
        // The same messages a new chat's first step has, up to its question
        // (and the memory found for it, which goes just before it).
        let mut messages: Vec<ChatMessage> = system
            .map(|content| ChatMessage {
                role: Role::System,
                content,
                ..Default::default()
            })
            .into_iter()
            .collect();
        messages.push(ChatMessage {
            role: Role::User,
            content: String::new(),
            ..Default::default()
        });
        for message in &mut messages {
            if let std::borrow::Cow::Owned(clean) = self.store().scrub("prompt", &message.content) {
                message.content = clean;
            }
        }
        let request = GenerationRequest {
            messages,
            params: GenerationParams {
                max_tokens: Some(1),
                tools,
                ..Default::default()
            },
        };
        let mut generation = engine.try_generate(request)?;
        while let Some(event) = generation.next().await {
            if let GenerationEvent::Finished { stats, .. } = event? {
                return Ok(stats);
            }
        }
        Err(AgentError::Inference(pincer_inference::InferenceError::Generation(
            "the engine ended the read-ahead without finishing it".into(),
        )))
    }
}
