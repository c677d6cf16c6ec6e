//! Picking the model to serve: a local path, or a catalog model fetched from the hub.

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use pincer_inference::catalog::{self, Fit, Memory};
use pincer_inference::fetch;
use pincer_inference::hub::HubConfig;
use pincer_inference::ModelSource;
use std::path::Path;

/// The checked model for `path`, or the catalog entry `catalog_id`
/// (downloaded with a progress bar on first use).
pub async fn resolve(path: Option<&Path>, catalog_id: &str) -> Result<ModelSource> {
    if let Some(path) = path {
        return Ok(ModelSource::inspect(path)?);
    }
    let Some(entry) = catalog::find(catalog_id) else {
        let ids: Vec<&str> = catalog::entries().iter().map(|e| e.id).collect();
        bail!(
            "`{catalog_id}` is not in the catalog ({}); or pass --model with a local file",
            ids.join(", ")
        );
    };
    let memory = Memory::current();
    match catalog::fit(entry, memory) {
        Fit::Fits => {}
        Fit::NeedsFreeMemory => tracing::warn!(
            "{} needs about {:.1} GB; only {:.1} GB is free now, so close other programs if loading fails",
            entry.id,
            entry.min_memory_bytes as f64 / 1e9,
            memory.available_bytes as f64 / 1e9
        ),
        Fit::TooLarge => bail!(
            "{} needs about {:.1} GB but this machine has {:.1} GB; try `--catalog-model {}`",
            entry.id,
            entry.min_memory_bytes as f64 / 1e9,
            memory.total_bytes as f64 / 1e9,
            catalog::largest_fitting(memory).map_or("qwen3-0.6b-gguf", |e| e.id)
        ),
    }
    let config = HubConfig::from_env();
    let bar = ProgressBar::new(entry.size_bytes);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .context("progress bar template")?
        .progress_chars("=> "),
    );
    bar.set_message(format!("downloading {} from {}", entry.id, entry.repo));
    if fetch::cached(&config, entry).is_some() {
        bar.finish_and_clear();
    }
    let mut on_progress = |done: u64, total: Option<u64>| {
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(done);
    };
    let path = fetch::fetch(&config, entry, &mut on_progress).await;
    bar.finish_and_clear();
    let path = path.with_context(|| format!("getting the catalog model {}", entry.id))?;
    Ok(ModelSource::inspect(&path)?)
}

/// Prints the catalog with this machine's fit.
pub fn print_catalog() {
    let memory = Memory::current();
    let config = HubConfig::from_env();
    println!(
        "{:<24} {:>8} {:>8}  {:<18} {:<10} {}",
        "id", "size", "memory", "fits this machine", "trainable", "cached"
    );
    for entry in catalog::entries() {
        let fit = match catalog::fit(entry, memory) {
            Fit::Fits => "yes",
            Fit::NeedsFreeMemory => "close other apps",
            Fit::TooLarge => "no",
        };
        let cached = if fetch::cached(&config, entry).is_some() {
            "yes"
        } else {
            "no"
        };
        let trainable = if entry.trainable() { "yes" } else { "no" };
        let default = if entry.id == catalog::DEFAULT_MODEL_ID {
            " (default)"
        } else {
            ""
        };
        println!(
            "{:<24} {:>6.1}GB {:>6.1}GB  {:<18} {:<10} {}{}",
            entry.id,
            entry.size_bytes as f64 / 1e9,
            entry.min_memory_bytes as f64 / 1e9,
            fit,
            trainable,
            cached,
            default
        );
    }
}
