//! Which files a source contributes, and how each becomes text.

use crate::{io_error, MemoryError, Result};
use std::path::{Path, PathBuf};

/// How a source's files are found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SourceKind {
    /// The workspace: `MEMORY.md` and `memory/**/*.md` only (the soul files
    /// are in every system prompt already).
    Workspace,
    /// A folder the owner added: every readable file below it.
    Folder,
    /// One file the owner added.
    File,
}

impl SourceKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SourceKind::Workspace => "workspace",
            SourceKind::Folder => "folder",
            SourceKind::File => "file",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        match text {
            "workspace" => SourceKind::Workspace,
            "file" => SourceKind::File,
            _ => SourceKind::Folder,
        }
    }
}

/// Text-like files indexed as they are: prose and source code.
const TEXT_EXTENSIONS: &[&str] = &[
    "md", "markdown", "txt", "text", "rst", "org", "adoc", "csv", "log", "rs", "py", "js", "mjs",
    "ts", "tsx", "jsx", "go", "c", "h", "cc", "cpp", "hpp", "java", "kt", "swift", "rb", "php",
    "cs", "sh", "bash", "zsh", "toml", "yaml", "yml", "json", "sql", "html", "css", "scss", "lua",
    "r", "scala", "zig", "nix", "ini", "cfg",
];

/// Folders never worth indexing: build output, dependencies, VCS data.
const SKIPPED_DIRS: &[&str] = &[
    "node_modules",
    "target",
    "dist",
    "build",
    "__pycache__",
    "venv",
    ".venv",
];

/// Files larger than this are skipped: a log dump would drown real notes.
pub(crate) const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;

/// Whether memory can read this file at all.
pub(crate) fn is_indexable(path: &Path) -> bool {
    let Some(ext) = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
    else {
        return false;
    };
    ext == "pdf" || TEXT_EXTENSIONS.contains(&ext.as_str())
}

/// Whether `path` belongs to a source of `kind` rooted at `root`.
pub(crate) fn belongs(kind: SourceKind, root: &Path, path: &Path) -> bool {
    match kind {
        SourceKind::File => path == root,
        SourceKind::Workspace => {
            path == root.join("MEMORY.md")
                || (path.starts_with(root.join("memory"))
                    && path.extension().is_some_and(|e| e == "md"))
        }
        SourceKind::Folder => {
            path.starts_with(root)
                && is_indexable(path)
                && !path
                    .strip_prefix(root)
                    .unwrap_or(path)
                    .components()
                    .any(|c| {
                        let name = c.as_os_str().to_string_lossy();
                        name.starts_with('.') || SKIPPED_DIRS.contains(&name.as_ref())
                    })
        }
    }
}

/// Every file the source holds now, sorted for a stable order.
pub(crate) fn list(kind: SourceKind, root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = match kind {
        SourceKind::File => Some(root.to_path_buf())
            .filter(|p| p.is_file())
            .into_iter()
            .collect(),
        SourceKind::Workspace => {
            let mut files: Vec<PathBuf> = Some(root.join("MEMORY.md"))
                .filter(|p| p.is_file())
                .into_iter()
                .collect();
            files.extend(walk(&root.join("memory")).filter(|p| belongs(kind, root, p)));
            files
        }
        SourceKind::Folder => walk(root).filter(|p| belongs(kind, root, p)).collect(),
    };
    found.sort();
    found
}

fn walk(root: &Path) -> impl Iterator<Item = PathBuf> {
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !(name.starts_with('.')
                    || (e.file_type().is_dir() && SKIPPED_DIRS.contains(&name.as_ref())))
        })
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
}

/// A file's bytes turned into indexable text.
pub(crate) fn read_text(path: &Path, bytes: &[u8]) -> Result<String> {
    let is_pdf = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
    if is_pdf {
        return pdf_extract::extract_text_from_mem(bytes).map_err(|e| MemoryError::Unreadable {
            path: path.to_path_buf(),
            detail: e.to_string(),
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(e) => Err(MemoryError::Unreadable {
            path: path.to_path_buf(),
            detail: format!(
                "not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                e.valid_up_to()
            ),
        }),
    }
}

/// Reads a file whole, refusing ones over [`MAX_FILE_BYTES`].
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    let size = std::fs::metadata(path).map_err(io_error(path))?.len();
    if size > MAX_FILE_BYTES {
        return Err(MemoryError::Unreadable {
            path: path.to_path_buf(),
            detail: format!("{size} bytes is over memory's {MAX_FILE_BYTES}-byte limit per file"),
        });
    }
    std::fs::read(path).map_err(io_error(path))
}

/// The day a file is about: a daily note's date from its name
/// (`2026-11-21.md`), otherwise the day it was last modified.
pub(crate) fn file_day(path: &Path, modified_ms: i64) -> i32 {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    crate::notes::parse_day(stem).unwrap_or_else(|| modified_ms.div_euclid(86_400_000) as i32)
}
