//! Long because each format's header (GGUF, safetensors) is checked field
//! by field against the file's size, in one place.
//!
//! Recognising and checking a model on disk before mistral.rs sees it.
//!
//! mistral.rs assumes well-formed files: a truncated GGUF fails deep in the
//! loader, and a corrupt length field makes a reader allocate whatever size
//! the header claims. Every length here is checked against the file's size
//! first, so a bad file becomes one [`InferenceError::InvalidModel`] naming
//! the problem.

use crate::{InferenceError, Result};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// GGUF architectures mistral.rs 0.8.1 can run as quantised models.
pub const SUPPORTED_GGUF_ARCHITECTURES: &[&str] = &[
    "llama",
    "mistral3",
    "phi2",
    "phi3",
    "starcoder2",
    "qwen2",
    "qwen3",
    "qwen3moe",
];

/// Hugging Face `model_type`s mistral.rs 0.8.1 can run from safetensors.
pub const SUPPORTED_MODEL_TYPES: &[&str] = &[
    "mistral",
    "gemma",
    "mixtral",
    "llama",
    "phi",
    "phi3",
    "qwen2",
    "gemma2",
    "starcoder2",
    "deepseek_v2",
    "deepseek_v3",
    "qwen3",
    "glm4",
    "qwen3_moe",
    "smollm3",
    "granitemoehybrid",
    "gpt_oss",
];

/// A model Pincer can load, after its files were checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// A single GGUF file (tokenizer and chat template from its metadata).
    Gguf {
        /// The file.
        path: PathBuf,
        /// `general.architecture`.
        architecture: String,
        /// How most matrices are stored (e.g. `Q4K`), for display.
        quantization: String,
    },
    /// A Hugging Face folder: `config.json`, `tokenizer.json`, `*.safetensors`.
    Safetensors {
        /// The folder.
        dir: PathBuf,
        /// `model_type` from `config.json`.
        model_type: String,
    },
}

impl ModelSource {
    /// Checks `path` (a `.gguf` file, or a folder holding safetensors or one
    /// `.gguf`) and says what it is.
    pub fn inspect(path: &Path) -> Result<Self> {
        let invalid = |problem: String| InferenceError::InvalidModel {
            path: path.to_path_buf(),
            problem,
        };
        let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => InferenceError::ModelNotFound {
                path: path.to_path_buf(),
            },
            _ => invalid(format!("cannot read it: {e}")),
        })?;
        if metadata.is_file() {
            return inspect_gguf(path);
        }
        if path.join("config.json").is_file() {
            return inspect_safetensors_dir(path);
        }
        let ggufs: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| invalid(format!("cannot list the folder: {e}")))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
            })
            .collect();
        match ggufs.as_slice() {
            [one] => inspect_gguf(one),
            [] => Err(invalid(
                "the folder has neither config.json (a safetensors model) nor a .gguf file".into(),
            )),
            _ => Err(invalid(
                "the folder holds several .gguf files; pass the one to load".into(),
            )),
        }
    }

    /// A short id for the API: the file stem, or the folder name.
    pub fn default_id(&self) -> String {
        let name = match self {
            Self::Gguf { path, .. } => path.file_stem(),
            Self::Safetensors { dir, .. } => dir.file_name(),
        };
        name.map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "local".into())
    }
}

fn inspect_safetensors_dir(dir: &Path) -> Result<ModelSource> {
    let invalid = |problem: String| InferenceError::InvalidModel {
        path: dir.to_path_buf(),
        problem,
    };
    let config_text = std::fs::read_to_string(dir.join("config.json"))
        .map_err(|e| invalid(format!("config.json: {e}")))?;
    let config: serde_json::Value = serde_json::from_str(&config_text)
        .map_err(|e| invalid(format!("config.json is not valid JSON: {e}")))?;
    let model_type = config
        .get("model_type")
        .and_then(|v| v.as_str())
        .ok_or_else(|| invalid("config.json has no \"model_type\"".into()))?
        .to_string();
    if !SUPPORTED_MODEL_TYPES.contains(&model_type.as_str()) {
        return Err(InferenceError::UnsupportedModel {
            path: dir.to_path_buf(),
            what: format!("model_type \"{model_type}\""),
        });
    }
    if !dir.join("tokenizer.json").is_file() {
        return Err(invalid("tokenizer.json is missing".into()));
    }
    let mut shards: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| invalid(format!("cannot list the folder: {e}")))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    shards.sort();
    if shards.is_empty() {
        return Err(invalid("no .safetensors file next to config.json".into()));
    }
    for shard in &shards {
        check_safetensors(shard)?;
    }
    Ok(ModelSource::Safetensors {
        dir: dir.to_path_buf(),
        model_type,
    })
}

/// Checks a safetensors header and that every tensor's bytes are in the file.
fn check_safetensors(path: &Path) -> Result<()> {
    let invalid = |problem: String| InferenceError::InvalidModel {
        path: path.to_path_buf(),
        problem,
    };
    let mut file = File::open(path).map_err(|e| invalid(format!("cannot open: {e}")))?;
    let file_len = file.metadata().map_err(|e| invalid(e.to_string()))?.len();
    let mut len_bytes = [0u8; 8];
    file.read_exact(&mut len_bytes).map_err(|_| {
        invalid(
            "the file is shorter than a safetensors header; it is truncated or not safetensors"
                .into(),
        )
    })?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > file_len.saturating_sub(8) || header_len > 100 << 20 {
        return Err(invalid(format!("its header claims {header_len} bytes but the file has {file_len}; the file is truncated or corrupt")));
    }
    let mut header = vec![0u8; header_len as usize];
    file.read_exact(&mut header)
        .map_err(|e| invalid(format!("reading the header: {e}")))?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|e| invalid(format!("the header is not valid JSON: {e}")))?;
    let data_len = file_len - 8 - header_len;
    for (name, info) in header
        .iter()
        .filter(|(name, _)| name.as_str() != "__metadata__")
    {
        let end = info
            .get("data_offsets")
            .and_then(|o| o.get(1))
            .and_then(|v| v.as_u64())
            .ok_or_else(|| invalid(format!("tensor {name} has no data_offsets")))?;
        if end > data_len {
            return Err(invalid(format!(
                "tensor {name} ends at byte {end} of the data but the file holds {data_len}; the file is truncated (re-download or regenerate it)"
            )));
        }
    }
    Ok(())
}

/// A bounds-checked reader over a GGUF header.
struct GgufReader {
    reader: BufReader<File>,
    file_len: u64,
    path: PathBuf,
}

impl GgufReader {
    fn fail(&self, problem: impl Into<String>) -> InferenceError {
        InferenceError::InvalidModel {
            path: self.path.clone(),
            problem: problem.into(),
        }
    }
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut buffer = [0u8; N];
        self.reader
            .read_exact(&mut buffer)
            .map_err(|_| self.fail("the GGUF header ends early; the file is truncated"))?;
        Ok(buffer)
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn position(&mut self) -> Result<u64> {
        self.reader
            .stream_position()
            .map_err(|e| self.fail(e.to_string()))
    }
    /// A length that must fit in what is left of the file.
    fn length(&mut self, what: &str) -> Result<u64> {
        let len = self.u64()?;
        let left = self.file_len.saturating_sub(self.position()?);
        if len > left {
            return Err(self.fail(format!("{what} claims {len} bytes but only {left} remain; the file is truncated or corrupt")));
        }
        Ok(len)
    }
    fn string(&mut self, what: &str) -> Result<String> {
        let len = self.length(what)?;
        let mut buffer = vec![0u8; len as usize];
        self.reader
            .read_exact(&mut buffer)
            .map_err(|_| self.fail("the GGUF header ends early; the file is truncated"))?;
        String::from_utf8(buffer).map_err(|_| self.fail(format!("{what} is not UTF-8")))
    }
    fn skip(&mut self, len: u64) -> Result<()> {
        self.reader
            .seek(SeekFrom::Current(len as i64))
            .map_err(|e| self.fail(e.to_string()))
            .map(|_| ())
    }
    /// Reads (strings) or skips (everything else) one metadata value.
    fn value(&mut self, value_type: u32, key: &str) -> Result<Option<String>> {
        let scalar = |t: u32| match t {
            0 | 1 | 7 => Some(1),
            2 | 3 => Some(2),
            4..=6 => Some(4),
            10..=12 => Some(8),
            _ => None,
        };
        match value_type {
            8 => self.string(&format!("metadata value {key}")).map(Some),
            9 => {
                let element_type = self.u32()?;
                let count = self.u64()?;
                if element_type == 8 {
                    for _ in 0..count {
                        let len = self.length(&format!("a string in {key}"))?;
                        self.skip(len)?;
                    }
                } else {
                    let size = scalar(element_type).ok_or_else(|| {
                        self.fail(format!(
                            "metadata {key} has an unknown element type {element_type}"
                        ))
                    })?;
                    let total = count
                        .checked_mul(size)
                        .ok_or_else(|| self.fail(format!("metadata {key} is too large")))?;
                    if total > self.file_len.saturating_sub(self.position()?) {
                        return Err(self.fail(format!(
                            "metadata {key} runs past the end of the file; it is truncated"
                        )));
                    }
                    self.skip(total)?;
                }
                Ok(None)
            }
            t => {
                let size = scalar(t)
                    .ok_or_else(|| self.fail(format!("metadata {key} has an unknown type {t}")))?;
                self.skip(size)?;
                Ok(None)
            }
        }
    }
}

/// Bytes a GGML tensor of `elements` takes, from its type id.
fn ggml_size(type_id: u32, elements: u64) -> Option<(u64, &'static str)> {
    // (block size in elements, bytes per block, name)
    let (block, bytes, name) = match type_id {
        0 => (1, 4, "F32"),
        1 => (1, 2, "F16"),
        2 => (32, 18, "Q4_0"),
        3 => (32, 20, "Q4_1"),
        6 => (32, 22, "Q5_0"),
        7 => (32, 24, "Q5_1"),
        8 => (32, 34, "Q8_0"),
        9 => (32, 36, "Q8_1"),
        10 => (256, 84, "Q2K"),
        11 => (256, 110, "Q3K"),
        12 => (256, 144, "Q4K"),
        13 => (256, 176, "Q5K"),
        14 => (256, 210, "Q6K"),
        15 => (256, 292, "Q8K"),
        30 => (1, 2, "BF16"),
        _ => return None,
    };
    Some((elements.div_ceil(block) * bytes, name))
}

fn inspect_gguf(path: &Path) -> Result<ModelSource> {
    let invalid = |problem: String| InferenceError::InvalidModel {
        path: path.to_path_buf(),
        problem,
    };
    let file = File::open(path).map_err(|e| invalid(format!("cannot open: {e}")))?;
    let file_len = file.metadata().map_err(|e| invalid(e.to_string()))?.len();
    let mut r = GgufReader {
        reader: BufReader::new(file),
        file_len,
        path: path.to_path_buf(),
    };
    let magic = r
        .bytes::<4>()
        .map_err(|_| invalid("the file is empty or shorter than a GGUF header".into()))?;
    if &magic != b"GGUF" {
        return Err(invalid("it does not start with the GGUF magic bytes; it is not a GGUF file (pass a .gguf file or a Hugging Face model folder)".into()));
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(InferenceError::UnsupportedModel {
            path: path.to_path_buf(),
            what: format!("GGUF version {version}"),
        });
    }
    let tensor_count = r.u64()?;
    let kv_count = r.u64()?;
    let mut architecture = None;
    let mut alignment = 32u64;
    for index in 0..kv_count {
        let key = r.string(&format!("metadata key #{index}"))?;
        let value_type = r.u32()?;
        if key == "general.alignment" && value_type == 4 {
            alignment = u64::from(r.u32()?).max(1);
            continue;
        }
        let value = r.value(value_type, &key)?;
        if key == "general.architecture" {
            architecture = value;
        }
    }
    let architecture =
        architecture.ok_or_else(|| invalid("GGUF metadata has no general.architecture".into()))?;
    if !SUPPORTED_GGUF_ARCHITECTURES.contains(&architecture.to_ascii_lowercase().as_str()) {
        return Err(InferenceError::UnsupportedModel {
            path: path.to_path_buf(),
            what: format!("GGUF architecture \"{architecture}\""),
        });
    }
    let mut data_end = 0u64;
    let mut type_counts: std::collections::BTreeMap<&'static str, u64> = Default::default();
    for index in 0..tensor_count {
        let name = r.string(&format!("tensor name #{index}"))?;
        let dims = r.u32()?;
        if dims > 8 {
            return Err(invalid(format!(
                "tensor {name} claims {dims} dimensions; the header is corrupt"
            )));
        }
        let mut elements = 1u64;
        for _ in 0..dims {
            elements = elements
                .checked_mul(r.u64()?)
                .ok_or_else(|| invalid(format!("tensor {name} is impossibly large")))?;
        }
        let type_id = r.u32()?;
        let offset = r.u64()?;
        let (size, type_name) =
            ggml_size(type_id, elements).ok_or_else(|| InferenceError::UnsupportedModel {
                path: path.to_path_buf(),
                what: format!("tensor type {type_id} (in {name})"),
            })?;
        *type_counts.entry(type_name).or_default() += size;
        data_end = data_end.max(offset.saturating_add(size));
    }
    let header_end = r.position()?;
    let data_start = header_end.div_ceil(alignment) * alignment;
    let needed = data_start.saturating_add(data_end);
    if needed > file_len {
        return Err(invalid(format!(
            "the tensors need {needed} bytes but the file has {file_len}; it is truncated (re-download or regenerate it)"
        )));
    }
    let quantization = type_counts
        .into_iter()
        .max_by_key(|(_, bytes)| *bytes)
        .map(|(name, _)| name.to_string())
        .unwrap_or_default();
    Ok(ModelSource::Gguf {
        path: path.to_path_buf(),
        architecture,
        quantization,
    })
}
