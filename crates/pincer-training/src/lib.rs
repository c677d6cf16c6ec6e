//! Learning from use. This crate turns a turn and what followed it into a
//! training signal ([`judge`]), and trains LoRA adapters on candle
//! ([`lora`], [`qwen3`]) with the binary-RL and OPD [`objectives`], AdamW
//! with accumulation and clipping ([`optimizer`]), and runs that resume
//! exactly from their [`checkpoint`]s ([`trainer`]). Every fallible function
//! returns [`Result`], whose [`TrainingError`] says what went wrong and
//! what to do.
#![deny(missing_docs)]

pub mod adapter;
pub mod checkpoint;
mod error;
pub mod gate;
pub mod judge;
pub mod lora;
pub mod objectives;
pub mod optimizer;
pub mod pipeline;
pub mod qwen3;
pub mod trainer;

pub use error::{Result, TrainingError};
