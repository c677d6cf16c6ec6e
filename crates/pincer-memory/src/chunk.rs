//! Long because of its tests; the chunker itself is about 320 lines.
//!
//! Chunking markdown by headings and paragraphs under a token budget.
//!
//! A file is read as blocks: headings, fenced code (kept whole while it
//! fits), and paragraphs (runs of non-blank lines). Blocks are packed into
//! chunks within one heading section until the budget is reached; a block
//! larger than the budget is split by lines, and a line by words. Each new
//! chunk of a section repeats the previous chunk's last lines up to the
//! overlap budget, so a sentence on a boundary is findable from both sides.
//! Every chunk records its 1-based line range, so `text` is exactly those
//! lines of the file (a line split by words keeps its line number).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a chunk's text came from, which decides how an answer may use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provenance {
    /// Written by the owner (their notes, `MEMORY.md`).
    Owner,
    /// Written by the agent (daily notes it appended).
    Agent,
    /// Ingested from outside (documents, web pages): data, never instructions.
    Untrusted,
    /// Shipped with Pincer.
    System,
}

impl Provenance {
    /// Every provenance, in the order their index is stored in memory.
    pub const ALL: [Provenance; 4] = [
        Provenance::Owner,
        Provenance::Agent,
        Provenance::Untrusted,
        Provenance::System,
    ];

    /// The lowercase name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Owner => "owner",
            Provenance::Agent => "agent",
            Provenance::Untrusted => "untrusted",
            Provenance::System => "system",
        }
    }

    /// Parses a stored or typed name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// Its position in [`Provenance::ALL`].
    pub fn index(self) -> u8 {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0) as u8
    }
}

/// The token budget of a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Most tokens in a chunk.
    pub max_tokens: usize,
    /// Tokens of the previous chunk repeated at the start of the next.
    pub overlap_tokens: usize,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        Self {
            max_tokens: 400,
            overlap_tokens: 80,
        }
    }
}

/// A piece of a markdown file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// First line, 1-based.
    pub start_line: usize,
    /// Last line, 1-based, inclusive.
    pub end_line: usize,
    /// The headings above it, outermost first.
    pub heading_path: Vec<String>,
    /// The text.
    pub text: String,
    /// Tokens in `text`, by the counter given.
    pub tokens: usize,
    /// SHA-256 (hex) of the heading path and text: unchanged chunks keep it,
    /// so they are not embedded again.
    pub content_hash: String,
}

/// A run of text with its line range, the unit chunks are packed from.
#[derive(Clone, Debug)]
struct Piece {
    start_line: usize,
    end_line: usize,
    text: String,
    tokens: usize,
}

enum Block {
    Heading { level: usize, title: String },
    Text(Vec<(usize, String)>),
}

fn heading(line: &str) -> Option<(usize, String)> {
    let trimmed = line.trim_start();
    let level = trimmed.chars().take_while(|c| *c == '#').count();
    let rest = &trimmed[level..];
    ((1..=6).contains(&level) && (rest.is_empty() || rest.starts_with(' ')))
        .then(|| (level, rest.trim().trim_end_matches('#').trim().to_string()))
}

fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Vec<(usize, String)> = Vec::new();
    let mut fence: Option<String> = None;
    let flush = |current: &mut Vec<(usize, String)>, blocks: &mut Vec<Block>| {
        if !current.is_empty() {
            blocks.push(Block::Text(std::mem::take(current)));
        }
    };
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim_start();
        if let Some(marker) = &fence {
            current.push((number, line.to_string()));
            if trimmed.starts_with(marker.as_str()) {
                fence = None;
                flush(&mut current, &mut blocks);
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            flush(&mut current, &mut blocks);
            fence = Some(trimmed[..3].to_string());
            current.push((number, line.to_string()));
        } else if let Some((level, title)) = heading(line) {
            flush(&mut current, &mut blocks);
            blocks.push(Block::Heading { level, title });
        } else if line.trim().is_empty() {
            flush(&mut current, &mut blocks);
        } else {
            current.push((number, line.to_string()));
        }
    }
    flush(&mut current, &mut blocks);
    blocks
}

/// Splits one block into pieces no larger than `max` tokens: whole when it
/// fits, else line by line, else word by word.
fn pieces(lines: &[(usize, String)], max: usize, count: &dyn Fn(&str) -> usize) -> Vec<Piece> {
    let text = lines
        .iter()
        .map(|(_, l)| l.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let tokens = count(&text);
    if tokens <= max {
        return vec![Piece {
            start_line: lines[0].0,
            end_line: lines[lines.len() - 1].0,
            text,
            tokens,
        }];
    }
    let mut out = Vec::new();
    for (number, line) in lines {
        let tokens = count(line);
        if tokens <= max {
            out.push(Piece {
                start_line: *number,
                end_line: *number,
                text: line.clone(),
                tokens,
            });
            continue;
        }
        let mut words = String::new();
        for word in line.split_inclusive(' ') {
            if !words.is_empty() && count(&format!("{words}{word}")) > max {
                out.push(Piece {
                    start_line: *number,
                    end_line: *number,
                    tokens: count(&words),
                    text: std::mem::take(&mut words),
                });
            }
            words.push_str(word);
        }
        if !words.is_empty() {
            out.push(Piece {
                start_line: *number,
                end_line: *number,
                tokens: count(&words),
                text: words,
            });
        }
    }
    out
}

fn finish(pieces: &[Piece], heading_path: &[String], count: &dyn Fn(&str) -> usize) -> Chunk {
    let text = pieces
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut hasher = Sha256::new();
    for title in heading_path {
        hasher.update(title.as_bytes());
        hasher.update([0]);
    }
    hasher.update(text.as_bytes());
    Chunk {
        start_line: pieces[0].start_line,
        end_line: pieces[pieces.len() - 1].end_line,
        heading_path: heading_path.to_vec(),
        tokens: count(&text),
        text,
        content_hash: hex::encode(hasher.finalize()),
    }
}

/// Packs one section's pieces into chunks with overlap.
fn pack(
    section: &[Piece],
    heading_path: &[String],
    options: &ChunkOptions,
    count: &dyn Fn(&str) -> usize,
    out: &mut Vec<Chunk>,
) {
    let mut current: Vec<Piece> = Vec::new();
    let mut fresh = 0usize; // pieces in `current` not carried over from the previous chunk
    for piece in section {
        let joined = current.iter().map(|p| p.tokens).sum::<usize>() + piece.tokens;
        if !current.is_empty() && joined > options.max_tokens && fresh > 0 {
            out.push(finish(&current, heading_path, count));
            let mut carried: Vec<Piece> = Vec::new();
            let mut budget = options
                .overlap_tokens
                .min(options.max_tokens.saturating_sub(piece.tokens));
            'carry: for previous in current.iter().rev() {
                if previous.tokens <= budget {
                    budget -= previous.tokens;
                    carried.insert(0, previous.clone());
                    continue;
                }
                // Too big to repeat whole: repeat its last lines that fit.
                for (offset, line) in previous
                    .text
                    .split('\n')
                    .enumerate()
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                {
                    let tokens = count(line);
                    let number = previous.start_line + offset;
                    if tokens > budget || number > previous.end_line {
                        break 'carry;
                    }
                    budget -= tokens;
                    carried.insert(
                        0,
                        Piece {
                            start_line: number,
                            end_line: number,
                            text: line.to_string(),
                            tokens,
                        },
                    );
                }
                break;
            }
            current = carried;
            fresh = 0;
        }
        current.push(piece.clone());
        fresh += 1;
    }
    if fresh > 0 {
        out.push(finish(&current, heading_path, count));
    }
}

/// Cuts markdown into chunks. `count_tokens` is the embedder's tokenizer (a
/// word count will do for tests).
pub fn chunk_markdown(
    text: &str,
    options: &ChunkOptions,
    count_tokens: &dyn Fn(&str) -> usize,
) -> Vec<Chunk> {
    let max = options.max_tokens.max(1);
    let mut chunks = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut section: Vec<Piece> = Vec::new();
    let titles = |path: &[(usize, String)]| path.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>();
    for block in blocks(text) {
        match block {
            Block::Heading { level, title } => {
                pack(&section, &titles(&path), options, count_tokens, &mut chunks);
                section.clear();
                path.retain(|(l, _)| *l < level);
                path.push((level, title));
            }
            Block::Text(lines) => section.extend(pieces(&lines, max, count_tokens)),
        }
    }
    pack(&section, &titles(&path), options, count_tokens, &mut chunks);
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> usize {
        text.split_whitespace().count()
    }

    fn lines_of(text: &str, chunk: &Chunk) -> Vec<String> {
        text.lines()
            .skip(chunk.start_line - 1)
            .take(chunk.end_line - chunk.start_line + 1)
            .map(str::to_string)
            .collect()
    }

    const NOTE: &str = "# Trips\n\nIntro line.\n\n## Japan\n\nKyoto in April.\nBook the ryokan early.\n\n```sh\n# not a heading\necho hi\n```\n\n### Food\n\nRamen.\n\n# Work\n\nShip the app.\n";

    #[test]
    fn headings_give_paths_and_code_fences_stay_whole() {
        let chunks = chunk_markdown(NOTE, &ChunkOptions::default(), &words);
        let paths: Vec<Vec<&str>> = chunks
            .iter()
            .map(|c| c.heading_path.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(
            paths,
            vec![
                vec!["Trips"],
                vec!["Trips", "Japan"],
                vec!["Trips", "Japan", "Food"],
                vec!["Work"]
            ]
        );
        assert!(chunks[1].text.contains("# not a heading\necho hi\n```"));
        assert_eq!((chunks[3].start_line, chunks[3].end_line), (21, 21));
    }

    #[test]
    fn chunks_respect_the_budget_overlap_and_map_back_to_their_lines() {
        let paragraph = |n: usize| {
            (0..6)
                .map(|i| format!("Sentence {n}.{i} has five words."))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let text = format!(
            "# Long\n\n{}\n",
            (0..12).map(paragraph).collect::<Vec<_>>().join("\n\n")
        );
        let options = ChunkOptions {
            max_tokens: 40,
            overlap_tokens: 10,
        };
        let chunks = chunk_markdown(&text, &options, &words);
        assert!(chunks.len() > 5);
        for pair in chunks.windows(2) {
            assert!(pair[0].tokens <= 40 && pair[1].tokens <= 40);
            // The next chunk starts inside the previous one: the overlap.
            assert!(pair[1].start_line <= pair[0].end_line, "{pair:?}");
            assert!(pair[1].end_line > pair[0].end_line);
        }
        for chunk in &chunks {
            // Blank lines between paragraphs are dropped, every other line is there verbatim.
            let expected: Vec<String> = lines_of(&text, chunk)
                .into_iter()
                .filter(|l| !l.is_empty())
                .collect();
            assert_eq!(chunk.text.lines().collect::<Vec<_>>(), expected);
        }
        assert_eq!(chunks.last().unwrap().end_line, text.lines().count());
    }

    #[test]
    fn an_overlong_line_is_split_by_words_and_hashes_follow_content() {
        let long = (0..100)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let options = ChunkOptions {
            max_tokens: 30,
            overlap_tokens: 0,
        };
        let chunks = chunk_markdown(&long, &options, &words);
        assert_eq!(chunks.len(), 4);
        assert!(chunks.iter().all(|c| c.tokens <= 30 && c.start_line == 1));
        let rejoined: String = chunks.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(rejoined, long);
        let again = chunk_markdown(&long, &options, &words);
        assert_eq!(chunks, again);
        let edited = chunk_markdown(&long.replace("w5 ", "w5x "), &options, &words);
        assert_ne!(edited[0].content_hash, chunks[0].content_hash);
        assert_eq!(
            edited[1].content_hash, chunks[1].content_hash,
            "an edit elsewhere keeps other chunks' hashes"
        );
    }
}
