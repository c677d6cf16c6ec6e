//! Developer tasks for Pincer, run as `cargo xtask <task>`.
//!
//! `cargo xtask tiny-model <dir>` writes the random-weight Qwen3 model every
//! test that needs an LLM uses: a Hugging Face folder (`config.json`,
//! `model.safetensors`, `tokenizer.json`, `tokenizer_config.json`) and
//! `<dir>/model.gguf`. `--shape qwen3-0.6b` writes a benchmark-sized one.

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use xtask::model;

#[derive(Parser)]
#[command(name = "xtask", about = "Pincer developer tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Write a random-weight Qwen3-architecture model (safetensors folder + model.gguf).
    TinyModel {
        /// Folder to write into (created if missing).
        dir: PathBuf,
        /// Model dimensions.
        #[arg(long, value_enum, default_value_t = ShapeName::Tiny)]
        shape: ShapeName,
        /// How GGUF stores the weight matrices.
        #[arg(long, value_enum, default_value_t = model::GgufType::Q8_0)]
        gguf_type: model::GgufType,
        /// Seed for the weights and the vocabulary.
        #[arg(long, default_value_t = 1234)]
        seed: u64,
        /// Skip model.safetensors (benchmarks need only the GGUF).
        #[arg(long)]
        no_safetensors: bool,
        /// The context in tokens, instead of the shape's (an agent
        /// framework's long prompts need 64k).
        #[arg(long)]
        context: Option<usize>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ShapeName {
    /// 2 layers, hidden 256, vocabulary 512: a few MB.
    Tiny,
    /// Qwen3-0.6B's dimensions (28 layers, hidden 1024, vocabulary 151936).
    #[value(name = "qwen3-0.6b")]
    Qwen3_0_6b,
}

fn main() -> Result<()> {
    match Cli::parse().task {
        Task::TinyModel {
            dir,
            shape,
            gguf_type,
            seed,
            no_safetensors,
            context,
        } => {
            let mut shape = match shape {
                ShapeName::Tiny => model::Qwen3Shape::TINY,
                ShapeName::Qwen3_0_6b => model::Qwen3Shape::QWEN3_0_6B,
            };
            if let Some(context) = context {
                shape.context_length = context;
            }
            model::write(&model::Plan {
                dir: &dir,
                shape,
                seed,
                gguf_type,
                write_safetensors: !no_safetensors,
            })?;
            println!(
                "wrote {} (safetensors folder{} + model.gguf)",
                dir.display(),
                if no_safetensors {
                    " without weights"
                } else {
                    ""
                }
            );
            Ok(())
        }
    }
}
