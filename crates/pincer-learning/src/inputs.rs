//! A round's inputs: the judged, consented turns rebuilt as the token ids
//! that were served (the engine's own tokenizer and chat template), one in
//! [`HOLD_OUT_EVERY`] held out for the gate, and the regression set
//! tokenised.

use crate::{blocking, Learning, LearningError, Result, TrainOptions};
use pincer_inference::{ChatMessage, Engine, ModelSource, Role};
use pincer_store::Trajectory;
use pincer_training::gate::{regression_items, Sequence};
use pincer_training::judge::{teacher_messages, Message};
use pincer_training::pipeline::RoundInputs;
use pincer_training::trainer::Example;
use std::path::Path;

/// One turn in this many is held out of training for the gate.
const HOLD_OUT_EVERY: usize = 5;

impl Learning {
    /// The round's data: judged, consented turns as served token ids, one in
    /// [`HOLD_OUT_EVERY`] held out, and the regression set tokenised.
    pub(crate) async fn round_inputs(&self, options: &TrainOptions) -> Result<RoundInputs> {
        let engine = self.engine().ok_or(LearningError::NoModel)?;
        let ModelSource::Safetensors { dir, .. } = engine.source().clone() else {
            return Err(LearningError::Unavailable("training needs the model as a safetensors folder (mistral.rs cannot serve an adapter on a Qwen3 GGUF file); load the model's folder in Models".into()));
        };
        let store = self.store().clone();
        let turns = blocking(move || Ok(store.training_set(100_000)?)).await?;
        if turns.len() < options.min_records {
            return Err(too_few_turns(turns.len(), options.min_records));
        }
        let (mut train, mut held_out) = (Vec::new(), Vec::new());
        for (index, turn) in turns.iter().enumerate() {
            let Some(example) = example(&engine, turn).await? else {
                continue;
            };
            if index % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1 {
                held_out.push(example)
            } else {
                train.push(example)
            }
        }
        Ok(RoundInputs {
            base_model: dir,
            serving_adapter: engine.adapter().map(Path::to_path_buf),
            train,
            held_out,
            regression: regression(&engine).await?,
            settings: options.settings.clone(),
            bounds: options.bounds.clone(),
        })
    }
}

/// Why a round cannot start yet, and what to do about it.
pub(crate) fn too_few_turns(ready: usize, needed: usize) -> LearningError {
    LearningError::Unavailable(format!(
        "{ready} judged turns with consent are ready; a round needs at least {needed}. Chat more, or give feedback, and try again"
    ))
}

/// A stored turn as the token ids that were served; `None` when its tokens
/// carry no ids (recorded before ids were kept) or it has no score.
async fn example(engine: &Engine, turn: &Trajectory) -> Result<Option<Example>> {
    let Some(judgment) = &turn.judgment else {
        return Ok(None);
    };
    let Some(response) = turn
        .turn
        .tokens
        .iter()
        .map(|t| t.id)
        .collect::<Option<Vec<u32>>>()
    else {
        return Ok(None);
    };
    let messages = crate::training_data::prompt_messages(turn);
    // A turn offered tools was served with their schemas in the prompt.
    let tools: Vec<pincer_inference::ToolDefinition> = turn
        .turn
        .prompt
        .get("tools")
        .cloned()
        .and_then(|tools| serde_json::from_value(tools).ok())
        .unwrap_or_default();
    let prompt = engine
        .tokenize_chat_with_tools(&chat(&messages), &tools)
        .await?;
    let teacher_prompt = match &judgment.hint {
        Some(hint) => Some(
            engine
                .tokenize_chat_with_tools(&chat(&teacher_messages(&messages, hint)), &tools)
                .await?,
        ),
        None => None,
    };
    Ok(Some(Example {
        trajectory_id: turn.id,
        prompt,
        response,
        served: turn.turn.tokens.iter().map(|t| t.logprob).collect(),
        score: f64::from(judgment.score),
        teacher_prompt,
    }))
}

async fn regression(engine: &Engine) -> Result<Vec<Sequence>> {
    let mut sequences = Vec::new();
    for item in regression_items() {
        let (prompt, answer) = match (&item.text, &item.answer) {
            (Some(text), _) => {
                let tokens = engine.tokenize_text(text).await?;
                (tokens[..1].to_vec(), tokens[1..].to_vec())
            }
            (None, Some(answer)) => {
                let messages: Vec<Message> =
                    serde_json::from_value(serde_json::Value::Array(item.messages.clone()))
                        .unwrap_or_default();
                (
                    engine.tokenize_chat(&chat(&messages)).await?,
                    engine.tokenize_text(answer).await?,
                )
            }
            (None, None) => continue,
        };
        sequences.push(Sequence {
            kind: item.kind,
            name: item.name,
            prompt,
            answer,
        });
    }
    Ok(sequences)
}

fn chat(messages: &[Message]) -> Vec<ChatMessage> {
    messages
        .iter()
        .map(|m| ChatMessage {
            role: match m.role.as_str() {
                "system" => Role::System,
                "assistant" => Role::Assistant,
                "tool" => Role::Tool,
                _ => Role::User,
            },
            content: m.content.clone(),
            ..Default::default()
        })
        .collect()
}
