//! Learning from use. This crate turns a turn and what followed it into a
//! training signal ([`judge`]), and trains LoRA adapters on candle
//! ([`lora`], [`qwen3`]); the objectives, the evaluation gate and the
//! schedule come next with the training issue.
#![deny(missing_docs)]

pub mod adapter;
pub mod judge;
pub mod lora;
pub mod objectives;
pub mod qwen3;
