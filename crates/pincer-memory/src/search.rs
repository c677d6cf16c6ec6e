//! Long because the stages of one search (filters, the vector shortlist,
//! the exact rescore, keywords, fusion, recency, MMR) run over the same hits.
//!
//! Hybrid search: meaning (vectors) and words (FTS5 with BM25), fused by
//! reciprocal rank, then optionally weighted towards recent notes and
//! diversified with maximal marginal relevance.

use crate::index::{blob_vector, VEC_TABLE};
use crate::{dot, notes, Memory, MemoryError, Provenance, Result, SqliteContext};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What to search for and how.
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct SearchOptions {
    /// Hits wanted.
    pub limit: usize,
    /// Only these sources (empty: all).
    pub sources: Vec<i64>,
    /// Only these provenances (empty: all).
    pub provenance: Vec<Provenance>,
    /// Only files about this day or later (`YYYY-MM-DD`).
    pub since: Option<String>,
    /// Only files about this day or earlier (`YYYY-MM-DD`).
    pub until: Option<String>,
    /// Halve a hit's score every this many days of age (`MEMORY.md` is
    /// evergreen and never decays). None: no recency weighting.
    pub recency_half_life_days: Option<f32>,
    /// Diversify with MMR: 1.0 is pure relevance, 0.0 pure novelty. None: off.
    pub mmr_lambda: Option<f32>,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            limit: 8,
            sources: Vec::new(),
            provenance: Vec::new(),
            since: None,
            until: None,
            recency_half_life_days: None,
            mmr_lambda: None,
        }
    }
}

/// One search result: where it is, what it says, why it ranked.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    /// The chunk's id (for `memory_get` and answer sources).
    pub chunk_id: i64,
    /// The file.
    pub path: String,
    /// First line, 1-based.
    pub start_line: i64,
    /// Last line, inclusive.
    pub end_line: i64,
    /// Headings above the chunk.
    pub heading_path: Vec<String>,
    /// The chunk's text.
    pub text: String,
    /// Who wrote it.
    pub provenance: Provenance,
    /// The source it came from.
    pub source_id: i64,
    /// The day the file is about (`YYYY-MM-DD`).
    pub day: String,
    /// The fused score (higher is better).
    pub score: f32,
    /// Cosine similarity to the query, if it was a vector result.
    pub similarity: Option<f32>,
    /// Rank among the vector results (1-based), if it was one.
    pub vector_rank: Option<usize>,
    /// Rank among the keyword results (1-based), if it was one.
    pub keyword_rank: Option<usize>,
    /// The query words, for highlighting.
    pub terms: Vec<String>,
}

/// Reciprocal-rank-fusion constant (the usual 60).
const RRF_K: f32 = 60.0;
/// Candidates taken from each retriever.
const CANDIDATES: usize = 40;

const STOPWORDS: &[&str] = &[
    "a", "about", "an", "and", "are", "as", "at", "be", "by", "can", "did", "do", "does", "for",
    "from", "had", "has", "have", "how", "i", "in", "is", "it", "its", "me", "my", "of", "on",
    "or", "our", "that", "the", "their", "them", "there", "this", "to", "was", "we", "were",
    "what", "when", "where", "which", "who", "why", "will", "with", "you", "your",
];

/// The words of a query worth matching, lowercased.
pub(crate) fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect();
    terms.dedup();
    terms
}

struct Filter {
    sql: String,
    values: Vec<rusqlite::types::Value>,
    sources: Vec<i64>,
    provenance: Vec<u8>,
    since: i32,
    until: i32,
}

impl Filter {
    fn new(options: &SearchOptions) -> Result<Self> {
        let day = |text: &Option<String>, default: i32| -> Result<i32> {
            match text {
                None => Ok(default),
                Some(t) => notes::parse_day(t).ok_or_else(|| {
                    MemoryError::Invalid(format!("{t:?} is not a date; write it as YYYY-MM-DD"))
                }),
            }
        };
        let since = day(&options.since, i32::MIN)?;
        let until = day(&options.until, i32::MAX)?;
        let mut sql = String::new();
        if since != i32::MIN || until != i32::MAX {
            sql.push_str(&format!(" AND f.day BETWEEN {since} AND {until}"));
        }
        let mut values = Vec::new();
        if !options.sources.is_empty() {
            sql.push_str(&format!(
                " AND f.source_id IN ({})",
                vec!["?"; options.sources.len()].join(",")
            ));
            values.extend(
                options
                    .sources
                    .iter()
                    .map(|s| rusqlite::types::Value::Integer(*s)),
            );
        }
        if !options.provenance.is_empty() {
            sql.push_str(&format!(
                " AND c.provenance IN ({})",
                vec!["?"; options.provenance.len()].join(",")
            ));
            values.extend(
                options
                    .provenance
                    .iter()
                    .map(|p| rusqlite::types::Value::Text(p.as_str().into())),
            );
        }
        Ok(Self {
            sql,
            values,
            sources: options.sources.clone(),
            provenance: options.provenance.iter().map(|p| p.index()).collect(),
            since,
            until,
        })
    }

    fn keeps(&self, tags: &crate::ChunkTags) -> bool {
        (self.sources.is_empty() || self.sources.contains(&tags.source_id))
            && (self.provenance.is_empty() || self.provenance.contains(&tags.provenance))
            && tags.day >= self.since
            && tags.day <= self.until
    }
}

impl Memory {
    /// Searches memory for `query`.
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<Vec<Hit>> {
        let query = query.trim();
        if query.is_empty() {
            return Err(MemoryError::Invalid(
                "the search is empty; type what to look for".into(),
            ));
        }
        let vector = self.embedder.embed(&[query])?.pop().unwrap_or_default();
        self.search_with_vector(query, &vector, options)
    }

    /// [`Memory::search`] with the query's vector already computed (the
    /// benchmark times retrieval apart from embedding).
    pub fn search_with_vector(
        &self,
        query: &str,
        vector: &[f32],
        options: &SearchOptions,
    ) -> Result<Vec<Hit>> {
        self.refresh_if_changed_elsewhere()?;
        let filter = Filter::new(options)?;
        let terms = query_terms(query);
        let (shortlist, total_chunks) = {
            let vectors = self.vectors.read().unwrap_or_else(|p| p.into_inner());
            (
                vectors.shortlist(vector, CANDIDATES, &|t| filter.keeps(t)),
                vectors.len(),
            )
        };
        let (vector_ranked, keyword_ranked) = self.store.with_connection(|c| -> Result<_> {
            let vector_ranked = exact_rescore(c, vector, &shortlist)?;
            let keyword_ranked =
                keyword_search(c, &terms, &filter, total_chunks, &self.word_counts)?;
            Ok((vector_ranked, keyword_ranked))
        })?;
        let mut fused: HashMap<i64, (f32, Option<usize>, Option<usize>)> = HashMap::new();
        for (rank, (id, _)) in vector_ranked.iter().enumerate() {
            let entry = fused.entry(*id).or_default();
            entry.0 += 1.0 / (RRF_K + rank as f32 + 1.0);
            entry.1 = Some(rank + 1);
        }
        for (rank, id) in keyword_ranked.iter().enumerate() {
            let entry = fused.entry(*id).or_default();
            entry.0 += 1.0 / (RRF_K + rank as f32 + 1.0);
            entry.2 = Some(rank + 1);
        }
        let similarity: HashMap<i64, f32> = vector_ranked.iter().copied().collect();
        let mut ranked: Vec<(i64, (f32, Option<usize>, Option<usize>))> =
            fused.into_iter().collect();
        ranked.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0).then(a.0.cmp(&b.0)));
        let pool = if options.mmr_lambda.is_some() || options.recency_half_life_days.is_some() {
            options.limit * 4
        } else {
            options.limit
        };
        ranked.truncate(pool.max(options.limit));
        let mut hits = self.store.with_connection(|c| -> Result<Vec<Hit>> {
            ranked
                .iter()
                .filter_map(|(id, (score, v, k))| {
                    hit_row(c, *id, *score, *v, *k, &terms).transpose()
                })
                .map(|hit| {
                    hit.map(|hit| Hit {
                        similarity: similarity.get(&hit.chunk_id).copied(),
                        ..hit
                    })
                })
                .collect()
        })?;
        if let Some(half_life) = options.recency_half_life_days.filter(|h| *h > 0.0) {
            let today = notes::today();
            for hit in &mut hits {
                if !hit.path.ends_with("MEMORY.md") {
                    let age = notes::parse_day(&hit.day).map_or(0, |d| (today - d).max(0)) as f32;
                    hit.score *= 0.5f32.powf(age / half_life);
                }
            }
            hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        }
        if let Some(lambda) = options.mmr_lambda {
            hits = self.diversify(hits, lambda.clamp(0.0, 1.0), options.limit)?;
        }
        hits.truncate(options.limit);
        Ok(hits)
    }

    /// The vector path alone (quantised shortlist, exact rescoring): the
    /// benchmark scores its recall against sqlite-vec's exact scan.
    #[doc(hidden)]
    pub fn bench_vector_top(&self, vector: &[f32], k: usize) -> Result<Vec<i64>> {
        let shortlist = self
            .vectors
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .shortlist(vector, CANDIDATES, &|_| true);
        let ranked = self
            .store
            .with_connection(|c| exact_rescore(c, vector, &shortlist))?;
        Ok(ranked.into_iter().take(k).map(|(id, _)| id).collect())
    }

    /// Greedy MMR over the hits, using their exact vectors.
    fn diversify(&self, hits: Vec<Hit>, lambda: f32, limit: usize) -> Result<Vec<Hit>> {
        let vectors: Vec<Vec<f32>> = self.store.with_connection(|c| {
            hits.iter()
                .map(|h| stored_vector(c, h.chunk_id).map(Option::unwrap_or_default))
                .collect::<Result<_>>()
        })?;
        let best = hits
            .iter()
            .map(|h| h.score)
            .fold(f32::MIN, f32::max)
            .max(f32::EPSILON);
        let mut left: Vec<usize> = (0..hits.len()).collect();
        let mut chosen: Vec<usize> = Vec::new();
        while !left.is_empty() && chosen.len() < limit {
            let (at, _) = left
                .iter()
                .enumerate()
                .map(|(at, &i)| {
                    let redundancy = chosen
                        .iter()
                        .map(|&j| dot(&vectors[i], &vectors[j]))
                        .fold(0.0, f32::max);
                    (
                        at,
                        lambda * hits[i].score / best - (1.0 - lambda) * redundancy,
                    )
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((0, 0.0));
            chosen.push(left.remove(at));
        }
        let mut hits: Vec<Option<Hit>> = hits.into_iter().map(Some).collect();
        Ok(chosen.into_iter().filter_map(|i| hits[i].take()).collect())
    }
}

fn stored_vector(connection: &Connection, id: i64) -> Result<Option<Vec<f32>>> {
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT embedding FROM {VEC_TABLE} WHERE chunk_id = ?1"
        ))
        .context("preparing a vector read")?;
    let blob: Option<Vec<u8>> = statement
        .query_row([id], |r| r.get(0))
        .optional()
        .context("reading a vector")?;
    Ok(blob.map(|b| blob_vector(&b)))
}

/// Exact cosine of the shortlist against the stored float vectors.
fn exact_rescore(
    connection: &Connection,
    query: &[f32],
    shortlist: &[i64],
) -> Result<Vec<(i64, f32)>> {
    let mut scored = Vec::with_capacity(shortlist.len());
    for id in shortlist {
        if let Some(vector) = stored_vector(connection, *id)? {
            scored.push((*id, dot(query, &vector)));
        }
    }
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    Ok(scored)
}

/// BM25 over the chunks' words and headings; any query word may match.
///
/// Words found in more than 5% of the chunks (at least 500) carry almost no
/// BM25 weight but cost a score for every chunk they appear in: they are
/// left out when the query has rarer words, and only required together
/// (AND) when it has none. Counting stops at the threshold, so the check
/// costs at most that many postings per word.
/// Capped document counts of query words, kept between searches: a word's
/// share of the chunks moves slowly, so counts are only redone once the
/// index has grown or shrunk by a tenth.
#[derive(Debug, Default)]
pub(crate) struct WordCounts {
    total_at_fill: usize,
    counts: HashMap<String, i64>,
}

fn keyword_search(
    connection: &Connection,
    terms: &[String],
    filter: &Filter,
    total_chunks: usize,
    word_counts: &std::sync::Mutex<WordCounts>,
) -> Result<Vec<i64>> {
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let quote = |t: &String| format!("\"{}\"", t.replace('"', ""));
    let common_at = (total_chunks / 20).max(500);
    let mut rare = Vec::new();
    let mut cache = word_counts.lock().unwrap_or_else(|p| p.into_inner());
    if total_chunks.abs_diff(cache.total_at_fill) * 10 > cache.total_at_fill {
        *cache = WordCounts {
            total_at_fill: total_chunks,
            counts: HashMap::new(),
        };
    }
    for term in terms {
        let seen = match cache.counts.get(term) {
            Some(seen) => *seen,
            None => {
                let mut statement = connection
                    .prepare_cached("SELECT count(*) FROM (SELECT 1 FROM memory_fts WHERE memory_fts MATCH ?1 LIMIT ?2)")
                    .context("preparing a word count")?;
                let seen: i64 = statement
                    .query_row(params![quote(term), common_at as i64], |r| r.get(0))
                    .context("counting a word")?;
                cache.counts.insert(term.clone(), seen);
                seen
            }
        };
        if seen == 0 {
            continue;
        }
        if (seen as usize) < common_at {
            rare.push(quote(term));
        }
    }
    let expression = if rare.is_empty() {
        terms.iter().map(quote).collect::<Vec<_>>().join(" AND ")
    } else {
        rare.join(" OR ")
    };
    // Without filters the chunk and file rows are not needed to rank.
    let joins = if filter.sql.is_empty() {
        ""
    } else {
        "JOIN memory_chunks c ON c.id = memory_fts.rowid JOIN memory_files f ON f.id = c.file_id"
    };
    let sql = format!(
        "SELECT memory_fts.rowid FROM memory_fts {joins}
         WHERE memory_fts MATCH ?{} ORDER BY bm25(memory_fts, 1.0, 2.0) LIMIT {CANDIDATES}",
        filter.sql
    );
    let mut statement = connection
        .prepare_cached(&sql)
        .context("preparing the keyword search")?;
    let values = std::iter::once(rusqlite::types::Value::Text(expression))
        .chain(filter.values.iter().cloned());
    let rows = statement
        .query_map(params_from_iter(values), |r| r.get(0))
        .context("running the keyword search")?;
    rows.collect::<std::result::Result<_, _>>()
        .context("running the keyword search")
}

fn hit_row(
    connection: &Connection,
    id: i64,
    score: f32,
    vector_rank: Option<usize>,
    keyword_rank: Option<usize>,
    terms: &[String],
) -> Result<Option<Hit>> {
    let mut statement = connection
        .prepare_cached(
            "SELECT f.path, c.start_line, c.end_line, c.heading_path, c.text, c.provenance, f.source_id, f.day
             FROM memory_chunks c JOIN memory_files f ON f.id = c.file_id WHERE c.id = ?1",
        )
        .context("preparing a hit read")?;
    statement
        .query_row([id], |r| {
            let headings: String = r.get(3)?;
            let provenance: String = r.get(5)?;
            Ok(Hit {
                chunk_id: id,
                path: r.get(0)?,
                start_line: r.get(1)?,
                end_line: r.get(2)?,
                heading_path: serde_json::from_str(&headings).unwrap_or_default(),
                text: r.get(4)?,
                provenance: Provenance::parse(&provenance).unwrap_or(Provenance::Untrusted),
                source_id: r.get(6)?,
                day: notes::format_day(r.get(7)?),
                score,
                similarity: None,
                vector_rank,
                keyword_rank,
                terms: terms.to_vec(),
            })
        })
        .optional()
        .context("reading a hit")
}
