//! Memory: its state, sources, searches and hits, and notes to remember,
//! and how memory's own types become them.

use serde::{Deserialize, Serialize};
use specta::Type;

/// Memory at a glance, for the Memory pane.
#[derive(Clone, Debug, Default, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MemoryStatus {
    /// Whether memory is on (an embedder is loaded).
    pub available: bool,
    /// Why memory is off, or what went wrong starting it.
    pub problem: Option<String>,
    /// The embedding model's folder.
    pub embedder: Option<String>,
    /// The workspace folder (`MEMORY.md`, `memory/`).
    pub workspace: String,
    /// Files indexed.
    pub files: u32,
    /// Chunks indexed.
    pub chunks: u32,
    /// Whether indexing is running.
    pub syncing: bool,
    /// Files looked at in the running (or last) sync.
    pub files_done: u32,
    /// Files the running (or last) sync looks at.
    pub files_total: u32,
    /// The file being indexed.
    pub current_file: Option<String>,
    /// Files the last sync could not read, with why.
    pub errors: Vec<String>,
    /// The workspace and the folders and files the owner added.
    pub sources: Vec<MemorySourceView>,
}

/// A memory source.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MemorySourceView {
    /// Its id.
    pub id: u32,
    /// The absolute path.
    pub path: String,
    /// `workspace`, `folder` or `file`.
    pub kind: String,
    /// Who wrote what it holds: `owner` or `untrusted` (outside documents).
    pub provenance: String,
    /// Files indexed from it.
    pub files: u32,
    /// Chunks indexed from it.
    pub chunks: u32,
}

/// A memory search.
#[derive(Clone, Debug, Default, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase", default)]
pub struct MemorySearch {
    /// What to look for.
    pub query: String,
    /// Hits wanted (1-50, default 10).
    pub limit: Option<u32>,
    /// Only these sources.
    pub sources: Vec<u32>,
    /// Only these provenances.
    pub provenance: Vec<String>,
    /// Only notes about this day or later (`YYYY-MM-DD`).
    pub since: Option<String>,
    /// Only notes about this day or earlier (`YYYY-MM-DD`).
    pub until: Option<String>,
    /// Favour recent notes: halve scores every this many days.
    pub recency_half_life_days: Option<f64>,
    /// Diversify results (MMR): 1 is pure relevance.
    pub mmr_lambda: Option<f64>,
}

/// A memory search hit.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MemoryHitView {
    /// The chunk.
    pub chunk_id: u32,
    /// The file.
    pub path: String,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, inclusive.
    pub end_line: u32,
    /// Headings above it.
    pub heading_path: Vec<String>,
    /// Its text.
    pub text: String,
    /// Who wrote it.
    pub provenance: String,
    /// The day its file is about.
    pub day: String,
    /// Fused score.
    pub score: f64,
    /// Rank by meaning, if found that way.
    pub vector_rank: Option<u32>,
    /// Rank by words, if found that way.
    pub keyword_rank: Option<u32>,
    /// Query words to highlight.
    pub terms: Vec<String>,
}

/// A folder or file to add to memory.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AddMemorySource {
    /// The absolute path.
    pub path: String,
    /// `untrusted` (default, outside documents) or `owner` (your own notes).
    pub provenance: Option<String>,
}

/// Names a memory source.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MemorySourceRef {
    /// Its id.
    pub id: u32,
}

/// Names a remembered file.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MemoryFileRef {
    /// Its path, as a hit or source gives it.
    pub path: String,
}

/// Something to remember.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Remember {
    /// The note.
    pub text: String,
}

/// Where a remembered note was written.
#[derive(Clone, Debug, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RememberedNote {
    /// The daily note file.
    pub path: String,
    /// The line, 1-based.
    pub line: u32,
}

impl From<pincer_memory::Source> for MemorySourceView {
    fn from(source: pincer_memory::Source) -> Self {
        MemorySourceView {
            id: source.id as u32,
            path: source.path,
            kind: source.kind,
            provenance: source.provenance.as_str().into(),
            files: source.files as u32,
            chunks: source.chunks as u32,
        }
    }
}

impl From<pincer_memory::Hit> for MemoryHitView {
    fn from(hit: pincer_memory::Hit) -> Self {
        MemoryHitView {
            chunk_id: hit.chunk_id as u32,
            path: hit.path,
            start_line: hit.start_line as u32,
            end_line: hit.end_line as u32,
            heading_path: hit.heading_path,
            text: hit.text,
            provenance: hit.provenance.as_str().into(),
            day: hit.day,
            score: f64::from(hit.score),
            vector_rank: hit.vector_rank.map(|r| r as u32),
            keyword_rank: hit.keyword_rank.map(|r| r as u32),
            terms: hit.terms,
        }
    }
}
