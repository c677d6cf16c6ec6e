//! The models Pincer offers to download, and which of them fit this machine.

use serde::Serialize;

/// One downloadable model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    /// The id users type (`pincer serve --model-id ...`).
    pub id: &'static str,
    /// Hugging Face repository.
    pub repo: &'static str,
    /// The GGUF file in it.
    pub file: &'static str,
    /// Approximate file size, for the fit check before download.
    pub size_bytes: u64,
    /// Quantisation of most weights.
    pub quantization: &'static str,
    /// Memory the model needs to run with a working context.
    pub min_memory_bytes: u64,
    /// Published SHA-256 of the file, when pinned; otherwise the hub's own
    /// hash (its `x-linked-etag`) is checked.
    pub sha256: Option<&'static str>,
    /// One line for people.
    pub description: &'static str,
}

const GB: u64 = 1_000_000_000;

/// The id served when `pincer serve` is given no model.
pub const DEFAULT_MODEL_ID: &str = "qwen3-4b-instruct";

static ENTRIES: &[CatalogEntry] = &[
    CatalogEntry {
        id: "qwen3-0.6b",
        repo: "Qwen/Qwen3-0.6B-GGUF",
        file: "Qwen3-0.6B-Q8_0.gguf",
        size_bytes: 639 * GB / 1000,
        quantization: "Q8_0",
        min_memory_bytes: 2 * GB,
        sha256: None,
        description: "Smallest Qwen3: fast on any machine, for quick replies and tests",
    },
    CatalogEntry {
        id: "qwen3-1.7b",
        repo: "Qwen/Qwen3-1.7B-GGUF",
        file: "Qwen3-1.7B-Q8_0.gguf",
        size_bytes: 1_830 * GB / 1000,
        quantization: "Q8_0",
        min_memory_bytes: 4 * GB,
        sha256: None,
        description: "Small Qwen3 for laptops with 8 GB",
    },
    CatalogEntry {
        id: DEFAULT_MODEL_ID,
        repo: "unsloth/Qwen3-4B-Instruct-2507-GGUF",
        file: "Qwen3-4B-Instruct-2507-Q4_K_M.gguf",
        size_bytes: 2_500 * GB / 1000,
        quantization: "Q4_K_M",
        min_memory_bytes: 5 * GB,
        sha256: None,
        description: "The default: Qwen3-4B-Instruct-2507, a strong all-rounder for 16 GB machines",
    },
    CatalogEntry {
        id: "qwen3-8b",
        repo: "Qwen/Qwen3-8B-GGUF",
        file: "Qwen3-8B-Q4_K_M.gguf",
        size_bytes: 5_030 * GB / 1000,
        quantization: "Q4_K_M",
        min_memory_bytes: 8 * GB,
        sha256: None,
        description: "Qwen3-8B for desktops with 16 GB or more",
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
        assert!(default_entry().file.ends_with(".gguf"));
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
            Some("qwen3-0.6b"),
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
