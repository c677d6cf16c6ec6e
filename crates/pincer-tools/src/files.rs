//! The file tools: read, list and search files, write and edit them, only
//! inside [`Places`] and within size limits. Writes are atomic (a file is
//! either as it was or wholly the new text), and an edit must name text
//! that occurs exactly once.

use crate::{Access, Effect, Places, Result, ToolError, ToolSpec};
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::Write as _;
use std::path::Path;

/// The most of a file `read_file` returns.
const READ_LIMIT: usize = 256 * 1024;
/// The largest text `write_file` and `edit_file` write.
const WRITE_LIMIT: usize = 1024 * 1024;
/// The most entries `list_files` returns.
const LIST_LIMIT: usize = 500;
/// The most lines `search_files` returns, and the largest file it reads.
const SEARCH_HITS: usize = 100;
const SEARCH_FILE_LIMIT: u64 = 2 * 1024 * 1024;

/// The file tools' specs.
pub fn file_tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "read_file".into(),
            description: "Read a text file in the workspace or a granted folder, optionally only lines start_line..=end_line (1-based).".into(),
            effect: Effect::Read,
            parameters: json!({"type": "object", "additionalProperties": false, "required": ["path"], "properties": {
                "path": {"type": "string", "description": "the file, relative to the workspace or absolute"},
                "start_line": {"type": "integer", "minimum": 1},
                "end_line": {"type": "integer", "minimum": 1}}}),
        },
        ToolSpec {
            name: "list_files".into(),
            description: "List a folder in the workspace or a granted folder: each entry's name, whether it is a folder, and its size.".into(),
            effect: Effect::Read,
            parameters: json!({"type": "object", "additionalProperties": false, "properties": {
                "path": {"type": "string", "description": "the folder; the workspace when left out"}}}),
        },
        ToolSpec {
            name: "search_files".into(),
            description: "Find lines containing a text (ignoring case) in the files under a folder.".into(),
            effect: Effect::Read,
            parameters: json!({"type": "object", "additionalProperties": false, "required": ["query"], "properties": {
                "query": {"type": "string", "minLength": 1},
                "path": {"type": "string", "description": "the folder to search; the workspace when left out"}}}),
        },
        ToolSpec {
            name: "write_file".into(),
            description: "Create or replace a text file in the workspace or a folder granted for writing.".into(),
            effect: Effect::Write,
            parameters: json!({"type": "object", "additionalProperties": false, "required": ["path", "content"], "properties": {
                "path": {"type": "string"}, "content": {"type": "string"}}}),
        },
        ToolSpec {
            name: "edit_file".into(),
            description: "Replace old_text, which must occur exactly once in the file, with new_text.".into(),
            effect: Effect::Write,
            parameters: json!({"type": "object", "additionalProperties": false, "required": ["path", "old_text", "new_text"], "properties": {
                "path": {"type": "string"}, "old_text": {"type": "string", "minLength": 1}, "new_text": {"type": "string"}}}),
        },
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadArgs {
    path: String,
    start_line: Option<usize>,
    end_line: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteArgs {
    path: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditArgs {
    path: String,
    old_text: String,
    new_text: String,
}

fn args<T: for<'de> Deserialize<'de>>(arguments: Value) -> Result<T> {
    serde_json::from_value(arguments).map_err(|e| ToolError::InvalidArguments(e.to_string()))
}

/// Checks a file tool call's arguments against its schema (before the gate
/// asks about it); an unknown name is [`ToolError::UnknownTool`].
pub fn check_file_args(name: &str, arguments: &Value) -> Result<()> {
    let arguments = arguments.clone();
    match name {
        "read_file" => args::<ReadArgs>(arguments).map(drop),
        "list_files" => args::<ListArgs>(arguments).map(drop),
        "search_files" => args::<SearchArgs>(arguments).map(drop),
        "write_file" => args::<WriteArgs>(arguments).map(drop),
        "edit_file" => args::<EditArgs>(arguments).map(drop),
        other => Err(ToolError::UnknownTool(other.to_string())),
    }
}

/// Runs the file tool `name` with `arguments` inside `places`; the result
/// is what goes back to the model.
pub fn run_file_tool(places: &Places, name: &str, arguments: Value) -> Result<Value> {
    match name {
        "read_file" => read_file(places, args(arguments)?),
        "list_files" => list_files(places, args(arguments)?),
        "search_files" => search_files(places, args(arguments)?),
        "write_file" => {
            let WriteArgs { path, content } = args(arguments)?;
            let target = places.resolve(&path, Access::Write)?;
            write_atomically(&target, &content)?;
            Ok(json!({"path": target, "bytes": content.len()}))
        }
        "edit_file" => edit_file(places, args(arguments)?),
        other => Err(ToolError::UnknownTool(other.to_string())),
    }
}

fn read_text(path: &Path) -> Result<String> {
    if path.is_dir() {
        return Err(ToolError::InvalidArguments(format!(
            "{} is a folder; use list_files",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| failed("reading", path, e))?;
    String::from_utf8(bytes).map_err(|_| {
        ToolError::InvalidArguments(format!(
            "{} is not a text file (not UTF-8); tools read text only",
            path.display()
        ))
    })
}

fn read_file(places: &Places, a: ReadArgs) -> Result<Value> {
    let path = places.resolve(&a.path, Access::Read)?;
    let text = read_text(&path)?;
    let lines: Vec<&str> = text.lines().collect();
    let start = a.start_line.unwrap_or(1).max(1);
    let end = a.end_line.unwrap_or(lines.len()).min(lines.len());
    if !lines.is_empty() && (start > lines.len() || end < start) {
        return Err(ToolError::InvalidArguments(format!(
            "lines {start}..={end} are not in the file, which has {} lines",
            lines.len()
        )));
    }
    let mut shown = if lines.is_empty() {
        String::new()
    } else {
        lines[start - 1..end].join("\n")
    };
    let cut = shown.len() > READ_LIMIT;
    if cut {
        let mut at = READ_LIMIT;
        while !shown.is_char_boundary(at) {
            at -= 1;
        }
        shown.truncate(at);
    }
    Ok(
        json!({"path": path, "lines": lines.len(), "from": start, "to": end, "text": shown, "truncated": cut}),
    )
}

fn list_files(places: &Places, a: ListArgs) -> Result<Value> {
    let path = places.resolve(a.path.as_deref().unwrap_or("."), Access::Read)?;
    let entries = std::fs::read_dir(&path).map_err(|e| failed("listing", &path, e))?;
    let mut listed: Vec<Value> = entries
        .flatten()
        .map(|entry| {
            let meta = entry.metadata().ok();
            json!({
                "name": entry.file_name().to_string_lossy(),
                "folder": meta.as_ref().is_some_and(|m| m.is_dir()),
                "bytes": meta.map_or(0, |m| m.len()),
            })
        })
        .collect();
    listed.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    let more = listed.len().saturating_sub(LIST_LIMIT);
    listed.truncate(LIST_LIMIT);
    Ok(json!({"path": path, "entries": listed, "more": more}))
}

fn search_files(places: &Places, a: SearchArgs) -> Result<Value> {
    let root = places.resolve(a.path.as_deref().unwrap_or("."), Access::Read)?;
    let needle = a.query.to_lowercase();
    let mut hits = Vec::new();
    let files = walkdir::WalkDir::new(&root)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .flatten()
        .filter(|e| e.file_type().is_file());
    'files: for entry in files {
        if entry
            .metadata()
            .map_or(true, |m| m.len() > SEARCH_FILE_LIMIT)
        {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for (number, line) in text.lines().enumerate() {
            if line.to_lowercase().contains(&needle) {
                if hits.len() == SEARCH_HITS {
                    break 'files;
                }
                hits.push(json!({"path": entry.path(), "line": number + 1, "text": line.chars().take(300).collect::<String>()}));
            }
        }
    }
    Ok(json!({"query": a.query, "hits": hits, "limited": hits.len() == SEARCH_HITS}))
}

fn edit_file(places: &Places, a: EditArgs) -> Result<Value> {
    let path = places.resolve(&a.path, Access::Write)?;
    let text = read_text(&path)?;
    match text.matches(&a.old_text).count() {
        1 => {}
        0 => {
            return Err(ToolError::InvalidArguments(format!(
                "old_text is not in {}; read the file and copy the text exactly",
                path.display()
            )))
        }
        n => {
            return Err(ToolError::InvalidArguments(format!(
                "old_text occurs {n} times in {}; include more of the text around it so it names one place",
                path.display()
            )))
        }
    }
    let edited = text.replacen(&a.old_text, &a.new_text, 1);
    write_atomically(&path, &edited)?;
    Ok(json!({"path": path, "bytes": edited.len()}))
}

/// Writes `text` to a temporary file beside `path`, then renames it over
/// `path` (which replaces a link rather than following it).
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    if text.len() > WRITE_LIMIT {
        return Err(ToolError::InvalidArguments(format!(
            "the text is {} bytes; tools write at most {WRITE_LIMIT}",
            text.len()
        )));
    }
    let folder = path.parent().unwrap_or(Path::new("/"));
    let mut file =
        tempfile::NamedTempFile::new_in(folder).map_err(|e| failed("writing", path, e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .map_err(|e| failed("writing", path, e))?;
    file.persist(path)
        .map_err(|e| failed("writing", path, e.error))?;
    Ok(())
}

fn failed(doing: &str, path: &Path, error: std::io::Error) -> ToolError {
    ToolError::Failed(format!("{doing} {} failed: {error}", path.display()))
}
