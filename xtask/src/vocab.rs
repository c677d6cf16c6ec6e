//! A synthetic byte-level BPE vocabulary in the Qwen2/Qwen3 style.
//!
//! Every merge names two tokens that are already in the vocabulary and whose
//! concatenation is the next token, so both mistral.rs (which refuses merges
//! naming unknown tokens) and llama.cpp accept it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashSet;

/// The pre-tokenizer split used by Qwen2/Qwen3 tokenizers.
pub const QWEN_SPLIT_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// The special tokens, appended after the regular tokens in this order.
pub const SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// A ChatML template with Qwen3's tool branch: the tools listed in the
/// system turn, an assistant's `tool_calls` written as `<tool_call>` text,
/// tool results as `<tool_response>` in a user turn (no thinking branch).
pub const CHAT_TEMPLATE: &str = concat!(
    "{%- if tools %}{{- '<|im_start|>system\\n' }}",
    "{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] + '\\n\\n' }}{%- endif %}",
    "{{- '# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>' }}",
    "{%- for tool in tools %}{{- '\\n' }}{{- tool | tojson }}{%- endfor %}",
    "{{- '\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\\n</tool_call><|im_end|>\\n' }}",
    "{%- elif messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- endif %}",
    "{%- for message in messages %}",
    "{%- if message['role'] == 'system' and loop.first %}",
    "{%- elif message['role'] == 'tool' %}",
    "{%- if loop.first or messages[loop.index0 - 1]['role'] != 'tool' %}{{- '<|im_start|>user' }}{%- endif %}",
    "{{- '\\n<tool_response>\\n' + message['content'] + '\\n</tool_response>' }}",
    "{%- if loop.last or messages[loop.index0 + 1]['role'] != 'tool' %}{{- '<|im_end|>\\n' }}{%- endif %}",
    "{%- else %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] }}",
    "{%- if message['tool_calls'] %}{%- for call in message['tool_calls'] %}{%- if call['function'] %}{%- set call = call['function'] %}{%- endif %}",
    "{{- '\\n<tool_call>\\n{\"name\": \"' + call['name'] + '\", \"arguments\": ' }}{%- if call['arguments'] is string %}{{- call['arguments'] }}{%- else %}{{- call['arguments'] | tojson }}{%- endif %}{{- '}\\n</tool_call>' }}",
    "{%- endfor %}{%- endif %}",
    "{{- '<|im_end|>\\n' }}{%- endif %}",
    "{%- endfor %}",
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
);

/// A vocabulary: regular tokens, then special tokens; merges in rank order.
pub struct Vocab {
    /// Token strings in id order (byte-level alphabet).
    pub tokens: Vec<String>,
    /// Merges as `"left right"`, highest priority first.
    pub merges: Vec<String>,
    /// How many of `tokens` are regular (the rest are special).
    pub regular: usize,
}

impl Vocab {
    /// The id of a special token.
    pub fn special_id(&self, token: &str) -> u32 {
        let index = SPECIAL_TOKENS
            .iter()
            .position(|t| *t == token)
            .expect("a known special token");
        (self.regular + index) as u32
    }

    /// Builds a vocabulary of exactly `size` tokens (special tokens included).
    pub fn generate(size: usize, seed: u64) -> Self {
        let regular = size - SPECIAL_TOKENS.len();
        assert!(
            regular >= 256,
            "the vocabulary needs room for the 256 byte tokens"
        );
        let mut tokens: Vec<String> = byte_alphabet().into_iter().map(String::from).collect();
        let mut seen: HashSet<String> = tokens.iter().cloned().collect();
        let mut merges = Vec::with_capacity(regular - 256);
        let mut rng = StdRng::seed_from_u64(seed);
        // Printable ASCII first, so merges resemble text the tests send.
        let common: Vec<usize> = (b'a'..=b'z').chain(b'A'..=b'Z').map(usize::from).collect();
        while tokens.len() < regular {
            let left = if rng.random_bool(0.5) {
                common[rng.random_range(0..common.len())]
            } else {
                rng.random_range(0..tokens.len())
            };
            let right = common[rng.random_range(0..common.len())];
            let merged = format!("{}{}", tokens[left], tokens[right]);
            if merged.chars().count() > 12 || !seen.insert(merged.clone()) {
                continue;
            }
            merges.push(format!("{} {}", tokens[left], tokens[right]));
            tokens.push(merged);
        }
        tokens.extend(SPECIAL_TOKENS.iter().map(|t| t.to_string()));
        Self {
            tokens,
            merges,
            regular,
        }
    }

    /// The Hugging Face `tokenizer.json` for this vocabulary.
    pub fn tokenizer_json(&self) -> Value {
        let vocab: serde_json::Map<String, Value> = self.tokens[..self.regular]
            .iter()
            .enumerate()
            .map(|(id, token)| (token.clone(), json!(id)))
            .collect();
        let added: Vec<Value> = SPECIAL_TOKENS
            .iter()
            .map(|token| {
                json!({"id": self.special_id(token), "content": token, "single_word": false,
                       "lstrip": false, "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false});
        json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN_SPLIT_REGEX}, "behavior": "Isolated", "invert": false},
                byte_level.clone()
            ]},
            "post_processor": byte_level.clone(),
            "decoder": byte_level,
            "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "",
                      "end_of_word_suffix": "", "fuse_unk": false, "byte_fallback": false,
                      "ignore_merges": false, "vocab": vocab, "merges": self.merges}
        })
    }

    /// The Hugging Face `tokenizer_config.json`, carrying the chat template.
    pub fn tokenizer_config_json(&self, max_length: usize) -> Value {
        let decoder: serde_json::Map<String, Value> = SPECIAL_TOKENS
            .iter()
            .map(|token| {
                (
                    self.special_id(token).to_string(),
                    json!({"content": token, "lstrip": false, "normalized": false, "rstrip": false,
                        "single_word": false, "special": true}),
                )
            })
            .collect();
        json!({
            "add_bos_token": false,
            "add_prefix_space": false,
            "added_tokens_decoder": decoder,
            "bos_token": null,
            "eos_token": "<|im_end|>",
            "pad_token": "<|endoftext|>",
            "unk_token": null,
            "chat_template": CHAT_TEMPLATE,
            "clean_up_tokenization_spaces": false,
            "model_max_length": max_length,
            "tokenizer_class": "Qwen2Tokenizer"
        })
    }
}

/// GPT-2's reversible map from bytes to printable characters.
fn byte_alphabet() -> Vec<char> {
    let mut printable: Vec<u32> = (u32::from(b'!')..=u32::from(b'~'))
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut chars: Vec<u32> = printable.clone();
    let mut extra = 0;
    for byte in 0..256u32 {
        if !printable.contains(&byte) {
            printable.push(byte);
            chars.push(256 + extra);
            extra += 1;
        }
    }
    let mut pairs: Vec<(u32, u32)> = printable.into_iter().zip(chars).collect();
    pairs.sort_unstable();
    pairs
        .into_iter()
        .map(|(_, c)| char::from_u32(c).expect("a valid char"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_merge_names_known_tokens_and_yields_the_next_one() {
        let vocab = Vocab::generate(600, 7);
        assert_eq!(vocab.tokens.len(), 600);
        let known: HashSet<&str> = vocab.tokens.iter().map(String::as_str).collect();
        for (rank, merge) in vocab.merges.iter().enumerate() {
            let (left, right) = merge.split_once(' ').expect("merges are space separated");
            assert!(
                known.contains(left) && known.contains(right),
                "merge {rank} names an unknown token"
            );
            assert_eq!(
                vocab.tokens[256 + rank],
                format!("{left}{right}"),
                "merge {rank} must produce the next token"
            );
        }
    }

    #[test]
    fn byte_alphabet_is_a_bijection_with_space_as_g_dot() {
        let alphabet = byte_alphabet();
        let unique: HashSet<char> = alphabet.iter().copied().collect();
        assert_eq!(unique.len(), 256, "each byte needs its own character");
        assert_eq!(
            alphabet[usize::from(b' ')],
            'Ġ',
            "GPT-2 maps the space byte to U+0120"
        );
        assert_eq!(alphabet[usize::from(b'a')], 'a');
    }
}
