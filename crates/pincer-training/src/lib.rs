//! Learning from use. This crate turns a turn and what followed it into a
//! training signal ([`judge`]); the LoRA trainer and its evaluation gate
//! come with the training issue.
#![deny(missing_docs)]

pub mod judge;
