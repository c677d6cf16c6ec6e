//! Pincer's memory: the workspace's markdown (the source of truth) cut into
//! chunks that keep their file, lines and heading path, for the local
//! embedding and hybrid-search index built on top.
#![deny(missing_docs)]

mod chunk;

pub use chunk::{chunk_markdown, Chunk, ChunkOptions, Provenance};
