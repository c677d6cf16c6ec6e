//! Writing the index: one file's chunks, keyword rows and vectors in one
//! transaction, re-using the vectors of chunks whose text did not change.

use crate::{Chunk, Provenance, Result, SqliteContext};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// The vec0 table's name; created to fit the loaded embedder.
pub(crate) const VEC_TABLE: &str = "memory_vec";

/// Makes sure the vector table exists for vectors of `dims` made by
/// `embedder_id`. When the embedder changed, the old vectors mean nothing:
/// the table is recreated and every file is forgotten so the next sync
/// indexes it again.
pub(crate) fn ensure_vec_table(
    connection: &mut Connection,
    embedder_id: &str,
    dims: usize,
) -> Result<()> {
    let recorded: Option<String> = connection
        .query_row(
            "SELECT value FROM memory_meta WHERE key = 'embedder'",
            [],
            |row| row.get(0),
        )
        .optional()
        .context("reading the memory index's embedder")?;
    let exists: bool = connection
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = ?1",
            [VEC_TABLE],
            |row| row.get::<_, i64>(0),
        )
        .context("looking for the vector table")?
        > 0;
    if exists && recorded.as_deref() == Some(embedder_id) {
        return Ok(());
    }
    let transaction = connection
        .transaction()
        .context("starting the vector table rebuild")?;
    transaction
        .execute_batch(&format!(
            "DROP TRIGGER IF EXISTS memory_chunks_drop_vec;
             DELETE FROM memory_files;
             DROP TABLE IF EXISTS {VEC_TABLE};
             CREATE VIRTUAL TABLE {VEC_TABLE} USING vec0(chunk_id INTEGER PRIMARY KEY, embedding float[{dims}] distance_metric=cosine);
             CREATE TRIGGER memory_chunks_drop_vec AFTER DELETE ON memory_chunks BEGIN
                 DELETE FROM {VEC_TABLE} WHERE chunk_id = old.id;
             END;"
        ))
        .context("creating the vector table")?;
    transaction
        .execute("INSERT INTO memory_meta(key, value) VALUES ('embedder', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value", [embedder_id])
        .context("recording the memory index's embedder")?;
    transaction
        .commit()
        .context("committing the vector table rebuild")
}

/// A file ready to be written: everything computed, nothing locked yet.
pub(crate) struct PreparedFile<'a> {
    pub source_id: i64,
    pub path: &'a Path,
    pub content_hash: &'a str,
    pub modified_ms: i64,
    pub size: i64,
    pub day: i32,
    pub provenance: Provenance,
    pub chunks: &'a [(Chunk, String)],
    pub vectors: &'a [Vec<f32>],
}

/// The ids a write removed and added, for the in-memory vector codes.
pub(crate) struct WrittenFile {
    pub removed: Vec<i64>,
    pub added: Vec<i64>,
}

/// Replaces a file's chunks in one transaction.
pub(crate) fn write_file(
    connection: &mut Connection,
    file: &PreparedFile<'_>,
) -> Result<WrittenFile> {
    let transaction = connection
        .transaction()
        .context("starting a file's index write")?;
    let path = file.path.to_string_lossy();
    let old_id: Option<i64> = transaction
        .query_row(
            "SELECT id FROM memory_files WHERE path = ?1",
            [&path],
            |row| row.get(0),
        )
        .optional()
        .context("finding the file's old index")?;
    let mut removed = Vec::new();
    if let Some(old_id) = old_id {
        removed = chunk_ids_of_file(&transaction, old_id)?;
        transaction
            .execute("DELETE FROM memory_chunks WHERE file_id = ?1", [old_id])
            .context("dropping a file's old chunks")?;
    }
    let now = now_ms();
    transaction
        .execute(
            "INSERT INTO memory_files(source_id, path, content_hash, modified_ms, size, day, indexed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(path) DO UPDATE SET source_id = excluded.source_id, content_hash = excluded.content_hash,
                 modified_ms = excluded.modified_ms, size = excluded.size, day = excluded.day, indexed_at = excluded.indexed_at",
            params![file.source_id, path, file.content_hash, file.modified_ms, file.size, file.day, now],
        )
        .context("recording the file")?;
    let file_id: i64 = transaction
        .query_row(
            "SELECT id FROM memory_files WHERE path = ?1",
            [&path],
            |row| row.get(0),
        )
        .context("reading the file's id")?;
    let mut added = Vec::with_capacity(file.chunks.len());
    {
        let mut insert_chunk = transaction
            .prepare_cached(
                "INSERT INTO memory_chunks(file_id, start_line, end_line, heading_path, text, tokens, content_hash, provenance)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .context("preparing the chunk insert")?;
        let mut insert_fts = transaction
            .prepare_cached("INSERT INTO memory_fts(rowid, text, heading) VALUES (?1, ?2, ?3)")
            .context("preparing the keyword insert")?;
        let mut insert_vec = transaction
            .prepare_cached(&format!(
                "INSERT INTO {VEC_TABLE}(chunk_id, embedding) VALUES (?1, ?2)"
            ))
            .context("preparing the vector insert")?;
        for ((chunk, hash), vector) in file.chunks.iter().zip(file.vectors) {
            let headings =
                serde_json::to_string(&chunk.heading_path).unwrap_or_else(|_| "[]".into());
            insert_chunk
                .execute(params![
                    file_id,
                    chunk.start_line as i64,
                    chunk.end_line as i64,
                    headings,
                    chunk.text,
                    chunk.tokens as i64,
                    hash,
                    file.provenance.as_str()
                ])
                .context("inserting a chunk")?;
            let id = transaction.last_insert_rowid();
            insert_fts
                .execute(params![id, chunk.text, chunk.heading_path.join(" ")])
                .context("inserting a keyword row")?;
            insert_vec
                .execute(params![id, vector_blob(vector)])
                .context("inserting a vector")?;
            added.push(id);
        }
    }
    transaction
        .commit()
        .context("committing a file's index write")?;
    Ok(WrittenFile { removed, added })
}

/// Forgets a file: its chunks, keyword rows and vectors go with it.
pub(crate) fn drop_file(connection: &mut Connection, path: &Path) -> Result<Vec<i64>> {
    let transaction = connection
        .transaction()
        .context("starting a file's removal")?;
    let id: Option<i64> = transaction
        .query_row(
            "SELECT id FROM memory_files WHERE path = ?1",
            [path.to_string_lossy()],
            |row| row.get(0),
        )
        .optional()
        .context("finding a file to drop")?;
    let Some(id) = id else { return Ok(Vec::new()) };
    let removed = chunk_ids_of_file(&transaction, id)?;
    transaction
        .execute("DELETE FROM memory_files WHERE id = ?1", [id])
        .context("dropping a file")?;
    transaction
        .commit()
        .context("committing a file's removal")?;
    Ok(removed)
}

fn chunk_ids_of_file(connection: &Connection, file_id: i64) -> Result<Vec<i64>> {
    let mut statement = connection
        .prepare_cached("SELECT id FROM memory_chunks WHERE file_id = ?1")
        .context("listing a file's chunks")?;
    let ids = statement
        .query_map([file_id], |row| row.get(0))
        .context("listing a file's chunks")?;
    ids.collect::<std::result::Result<_, _>>()
        .context("listing a file's chunks")
}

/// The stored vector of any chunk with this content hash, so unchanged text
/// is never embedded twice.
pub(crate) fn vector_for_hash(connection: &Connection, hash: &str) -> Result<Option<Vec<f32>>> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT v.embedding FROM memory_chunks c JOIN {VEC_TABLE} v ON v.chunk_id = c.id WHERE c.content_hash = ?1 LIMIT 1"
        ))
        .context("preparing the vector lookup")?;
    let blob: Option<Vec<u8>> = statement
        .query_row([hash], |row| row.get(0))
        .optional()
        .context("looking up a vector")?;
    Ok(blob.map(|b| blob_vector(&b)))
}

/// Little-endian f32 bytes, sqlite-vec's float vector format.
pub(crate) fn vector_blob(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The inverse of [`vector_blob`].
pub(crate) fn blob_vector(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
