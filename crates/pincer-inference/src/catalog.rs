//! The models Pincer offers to download, and which of them fit this machine.

use serde::Serialize;

/// How a catalog model is stored in its repository, and so what it can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CatalogFormat {
    /// The Hugging Face folder (`config.json`, tokenizer, safetensors
    /// weights, sharded or not), quantised in memory as it loads. Trained
    /// adapters merge into the full-precision weights before that, so this
    /// is the format Pincer can train and serve adapters on.
    Safetensors,
    /// One GGUF file, quantised on disk: smaller to download, but
    /// mistral.rs 0.8.1 serves no LoRA adapter on a Qwen3 GGUF, so a model
    /// in this form cannot use what Pincer learns.
    Gguf {
        /// The file in the repository.
        file: &'static str,
    },
}

/// One downloadable model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    /// The id users type (`pincer serve --catalog-model ...`).
    pub id: &'static str,
    /// Hugging Face repository.
    pub repo: &'static str,
    /// What is downloaded from it.
    pub format: CatalogFormat,
    /// Approximate download size, for the fit check before download.
    pub size_bytes: u64,
    /// How most weights are held in memory while serving.
    pub quantization: &'static str,
    /// Memory the model needs to load and run with a working context.
    pub min_memory_bytes: u64,
    /// Published SHA-256 of a GGUF file, when pinned; otherwise the hub's
    /// own hash (its `x-linked-etag`) is checked.
    pub sha256: Option<&'static str>,
    /// One line for people.
    pub description: &'static str,
}

impl CatalogEntry {
    /// Whether Pincer can train adapters for this model and serve them.
    pub fn trainable(&self) -> bool {
        self.format == CatalogFormat::Safetensors
    }
}

const GB: u64 = 1_000_000_000;

/// The id served when `pincer serve` is given no model.
///
/// The default is the safetensors form of Qwen3-4B-Instruct-2507, held in
/// memory as Q4K (about the GGUF Q4_K_M's footprint): mistral.rs 0.8.1
/// merges a LoRA adapter only into safetensors weights (it has no adapter
/// path for Qwen3 GGUF), and the owner's trained adapters must be able to
/// serve on the default model. The download is larger (bf16, 8 GB).
pub const DEFAULT_MODEL_ID: &str = "qwen3-4b-instruct";

static ENTRIES: &[CatalogEntry] = &[
    CatalogEntry {
        id: "qwen3-0.6b",
        repo: "Qwen/Qwen3-0.6B",
        format: CatalogFormat::Safetensors,
        size_bytes: 1_520 * GB / 1000,
        quantization: "Q8_0 in memory",
        min_memory_bytes: 3 * GB,
        sha256: None,
        description: "Smallest Qwen3: fast on any machine, for quick replies and tests; trainable",
    },
    CatalogEntry {
        id: "qwen3-0.6b-gguf",
        repo: "Qwen/Qwen3-0.6B-GGUF",
        format: CatalogFormat::Gguf {
            file: "Qwen3-0.6B-Q8_0.gguf",
        },
        size_bytes: 639 * GB / 1000,
        quantization: "Q8_0",
        min_memory_bytes: 2 * GB,
        sha256: None,
        description: "Smallest Qwen3 as one GGUF file: the smallest download; cannot serve trained adapters",
    },
    CatalogEntry {
        id: "qwen3-1.7b",
        repo: "Qwen/Qwen3-1.7B",
        format: CatalogFormat::Safetensors,
        size_bytes: 4_060 * GB / 1000,
        quantization: "Q8_0 in memory",
        min_memory_bytes: 6 * GB,
        sha256: None,
        description: "Small Qwen3 for laptops with 8 GB; trainable",
    },
    CatalogEntry {
        id: DEFAULT_MODEL_ID,
        repo: "Qwen/Qwen3-4B-Instruct-2507",
        format: CatalogFormat::Safetensors,
        size_bytes: 8_050 * GB / 1000,
        quantization: "Q4K in memory",
        min_memory_bytes: 10 * GB,
        sha256: None,
        description: "The default: Qwen3-4B-Instruct-2507, a strong all-rounder for 16 GB machines; trainable",
    },
    CatalogEntry {
        id: "qwen3-4b-instruct-gguf",
        repo: "unsloth/Qwen3-4B-Instruct-2507-GGUF",
        format: CatalogFormat::Gguf {
            file: "Qwen3-4B-Instruct-2507-Q4_K_M.gguf",
        },
        size_bytes: 2_500 * GB / 1000,
        quantization: "Q4_K_M",
        min_memory_bytes: 5 * GB,
        sha256: None,
        description: "The default model as one Q4_K_M GGUF file: a third of the download; cannot serve trained adapters",
    },
    CatalogEntry {
        id: "qwen3-8b",
        repo: "Qwen/Qwen3-8B",
        format: CatalogFormat::Safetensors,
        size_bytes: 16_400 * GB / 1000,
        quantization: "Q4K in memory",
        min_memory_bytes: 18 * GB,
        sha256: None,
        description: "Qwen3-8B for desktops with 24 GB or more; trainable",
    },
];

/// Every catalog entry, smallest first.
pub fn entries() -> &'static [CatalogEntry] {
    ENTRIES
}

/// The entry with this id.
pub fn find(id: &str) -> Option<&'static CatalogEntry> {
    ENTRIES
        .iter()
        .find(|entry| entry.id.eq_ignore_ascii_case(id))
}

/// The catalog's default model.
pub fn default_entry() -> &'static CatalogEntry {
    find(DEFAULT_MODEL_ID).unwrap_or(&ENTRIES[0])
}

/// This machine's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// Installed memory in bytes.
    pub total_bytes: u64,
    /// Memory free for a new process now.
    pub available_bytes: u64,
}

impl Memory {
    /// Reads the current figures from the operating system.
    pub fn current() -> Self {
        let mut system = sysinfo::System::new();
        system.refresh_memory();
        Self {
            total_bytes: system.total_memory(),
            available_bytes: system.available_memory(),
        }
    }
}

/// Whether a model fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    /// Fits in the memory free now.
    Fits,
    /// Fits the machine, but other programs must close first.
    NeedsFreeMemory,
    /// More than the machine has.
    TooLarge,
}

/// How `entry` fits `memory`.
pub fn fit(entry: &CatalogEntry, memory: Memory) -> Fit {
    if entry.min_memory_bytes > memory.total_bytes {
        Fit::TooLarge
    } else if entry.min_memory_bytes > memory.available_bytes {
        Fit::NeedsFreeMemory
    } else {
        Fit::Fits
    }
}

/// The largest entry that fits the memory free now, if any.
pub fn largest_fitting(memory: Memory) -> Option<&'static CatalogEntry> {
    ENTRIES
        .iter()
        .filter(|entry| fit(entry, memory) == Fit::Fits)
        .max_by_key(|entry| entry.min_memory_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_model_is_in_the_catalog() {
        assert_eq!(default_entry().id, DEFAULT_MODEL_ID);
        assert!(
            default_entry().trainable(),
            "the default model must be able to serve what Pincer trains"
        );
    }

    #[test]
    fn fit_distinguishes_too_large_from_needing_free_memory() {
        let entry = default_entry();
        let roomy = Memory {
            total_bytes: 64 * GB,
            available_bytes: 32 * GB,
        };
        let busy = Memory {
            total_bytes: 64 * GB,
            available_bytes: GB,
        };
        let small = Memory {
            total_bytes: 2 * GB,
            available_bytes: 2 * GB,
        };
        assert_eq!(fit(entry, roomy), Fit::Fits);
        assert_eq!(fit(entry, busy), Fit::NeedsFreeMemory);
        assert_eq!(fit(entry, small), Fit::TooLarge);
        assert_eq!(
            largest_fitting(small).map(|e| e.id),
            Some("qwen3-0.6b-gguf"),
            "a 2 GB machine still gets the smallest model"
        );
        assert_eq!(
            largest_fitting(Memory {
                total_bytes: GB,
                available_bytes: GB
            }),
            None
        );
    }
}
