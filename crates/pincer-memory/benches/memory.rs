//! Memory benchmark (a bench binary, run by `benches/memory.py`):
//!
//! `embed <texts.jsonl> <threads> <batch>`: embeds every text and prints
//! `{"texts": n, "seconds": s, "per_second": r}`. The driver runs
//! sentence-transformers on the same file for the side-by-side figure.
//!
//! `search <model dir> <chunks> <real> <queries> <out dir>`: builds an index
//! of `chunks` chunks (the first `real` embedded for real, the rest
//! mixtures of two real vectors plus noise, with text mixed the same way),
//! then for each query times the exact vec0 scan, Pincer's vector path and
//! the whole hybrid search, and scores recall@10 of the vector path against
//! the exact scan. Prints one JSON object.

use pincer_memory::{
    ChunkOptions, Embedder, EmbedderOptions, Memory, MemoryOptions, SearchOptions,
};
use pincer_store::Store;
use std::sync::Arc;
use std::time::Instant;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// A Zipf-like pick: low indexes (common words) far more often.
    fn zipf(&mut self, n: usize) -> usize {
        ((n as f32).powf(self.unit()) as usize)
            .saturating_sub(1)
            .min(n - 1)
    }
}

fn vocabulary(model: &std::path::Path) -> Vec<String> {
    let tokenizer: serde_json::Value = serde_json::from_slice(
        &std::fs::read(model.join("tokenizer.json")).expect("tokenizer.json"),
    )
    .expect("json");
    let vocab = tokenizer["model"]["vocab"]
        .as_object()
        .expect("a WordPiece vocab");
    let mut words: Vec<(i64, String)> = vocab
        .iter()
        .filter(|(w, _)| w.len() >= 3 && w.chars().all(|c| c.is_ascii_lowercase()))
        .map(|(w, id)| (id.as_i64().unwrap_or(0), w.clone()))
        .collect();
    words.sort();
    words.into_iter().map(|(_, w)| w).collect()
}

fn sentence(rng: &mut Rng, words: &[String], length: usize) -> String {
    (0..length)
        .map(|_| words[rng.zipf(words.len())].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn normalise(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() as f64 - 1.0) * p).round() as usize]
}

fn embed_mode(args: &[String]) {
    let texts: Vec<String> = std::fs::read_to_string(&args[0])
        .expect("texts file")
        .lines()
        .map(|l| serde_json::from_str::<String>(l).expect("one JSON string per line"))
        .collect();
    let model = std::env::var("PINCER_EMBEDDER").expect("PINCER_EMBEDDER names the model folder");
    let options = EmbedderOptions {
        threads: args[1].parse().expect("threads"),
        batch_size: args[2].parse().expect("batch"),
    };
    let embedder = Embedder::load(std::path::Path::new(&model), options).expect("load");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    embedder.embed(&refs[..refs.len().min(8)]).expect("warm-up");
    let start = Instant::now();
    let vectors = embedder.embed(&refs).expect("embed");
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(vectors.len(), texts.len());
    println!(
        "{}",
        serde_json::json!({"texts": texts.len(), "seconds": seconds, "per_second": texts.len() as f64 / seconds})
    );
}

fn search_mode(args: &[String]) {
    let model = std::path::PathBuf::from(&args[0]);
    let chunks: usize = args[1].parse().expect("chunks");
    let real: usize = args[2].parse::<usize>().expect("real").min(chunks);
    let queries: usize = args[3].parse().expect("queries");
    let out = std::path::PathBuf::from(&args[4]);
    let words = vocabulary(&model);
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let embedder = Arc::new(
        Embedder::load(
            &model,
            EmbedderOptions {
                threads: 2,
                batch_size: 32,
            },
        )
        .expect("load"),
    );

    let mut texts: Vec<String> = (0..real)
        .map(|_| {
            let length = 10 + rng.below(10);
            sentence(&mut rng, &words, length)
        })
        .collect();
    let cache = out.join(format!("real-{real}.f32"));
    let mut vectors: Vec<Vec<f32>> = match std::fs::read(&cache) {
        Ok(bytes) if bytes.len() == real * 384 * 4 => bytes
            .chunks_exact(384 * 4)
            .map(|v| {
                v.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            })
            .collect(),
        _ => {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let start = Instant::now();
            let vectors = embedder.embed(&refs).expect("embed");
            eprintln!(
                "embedded {real} texts in {:.1} s",
                start.elapsed().as_secs_f64()
            );
            std::fs::create_dir_all(&out).expect("out dir");
            std::fs::write(
                &cache,
                vectors
                    .iter()
                    .flatten()
                    .flat_map(|x| x.to_le_bytes())
                    .collect::<Vec<u8>>(),
            )
            .expect("cache");
            vectors
        }
    };
    while texts.len() < chunks {
        let (a, b) = (rng.below(real), rng.below(real));
        let w = 0.5 + 0.4 * rng.unit();
        let mixed: Vec<f32> = vectors[a]
            .iter()
            .zip(&vectors[b])
            .map(|(x, y)| w * x + (1.0 - w) * y + 0.02 * (rng.unit() - 0.5))
            .collect();
        vectors.push(normalise(mixed));
        let (ta, tb): (Vec<&str>, Vec<&str>) =
            (texts[a].split(' ').collect(), texts[b].split(' ').collect());
        texts.push(format!(
            "{} {}",
            ta[..ta.len() / 2].join(" "),
            tb[tb.len() / 2..].join(" ")
        ));
    }

    let dir = tempfile::tempdir_in(&out).expect("temp dir");
    let store = Arc::new(Store::open_in(dir.path()).expect("store"));
    let options = MemoryOptions {
        workspace: dir.path().join("workspace"),
        chunking: ChunkOptions::default(),
    };
    let memory = Memory::open(store.clone(), embedder.clone(), options).expect("memory");
    let start = Instant::now();
    for (file, (texts, vectors)) in texts.chunks(500).zip(vectors.chunks(500)).enumerate() {
        let day = 20_000 + (file % 400) as i32;
        memory
            .bench_insert(
                &dir.path().join(format!("note-{file}.md")),
                texts,
                vectors,
                day,
            )
            .expect("insert");
    }
    let insert_seconds = start.elapsed().as_secs_f64();
    drop(memory);
    // Re-open: start-up cost includes rebuilding the quantised codes from vec0.
    let start = Instant::now();
    let options = MemoryOptions {
        workspace: dir.path().join("workspace"),
        chunking: ChunkOptions::default(),
    };
    let memory = Memory::open(store.clone(), embedder.clone(), options).expect("memory");
    let open_seconds = start.elapsed().as_secs_f64();

    let mut exact_ms = Vec::new();
    let mut vector_ms = Vec::new();
    let mut hybrid_ms = Vec::new();
    let mut end_to_end_ms = Vec::new();
    let mut recall = 0.0;
    for _ in 0..queries {
        let base = &texts[rng.below(chunks.min(real))];
        let picked: Vec<&str> = base.split(' ').filter(|_| rng.unit() < 0.5).collect();
        let query = format!("{} {}", picked.join(" "), sentence(&mut rng, &words, 2));
        let vector = embedder
            .embed(&[query.as_str()])
            .expect("embed query")
            .pop()
            .expect("vector");
        let blob: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();

        let start = Instant::now();
        let exact: Vec<i64> = store.with_connection(|c| {
            let mut statement = c
                .prepare_cached(
                    "SELECT chunk_id FROM memory_vec WHERE embedding MATCH ?1 AND k = 10",
                )
                .expect("knn");
            statement
                .query_map([&blob], |r| r.get(0))
                .expect("knn")
                .map(|r| r.expect("row"))
                .collect()
        });
        exact_ms.push(start.elapsed().as_secs_f64() * 1e3);

        let start = Instant::now();
        let approximate = memory.bench_vector_top(&vector, 10).expect("vector path");
        vector_ms.push(start.elapsed().as_secs_f64() * 1e3);
        recall += approximate.iter().filter(|id| exact.contains(id)).count() as f64
            / exact.len().max(1) as f64;

        let start = Instant::now();
        let hits = memory
            .search_with_vector(
                &query,
                &vector,
                &SearchOptions {
                    limit: 10,
                    ..Default::default()
                },
            )
            .expect("search");
        hybrid_ms.push(start.elapsed().as_secs_f64() * 1e3);
        assert!(!hits.is_empty());

        let start = Instant::now();
        memory
            .search(
                &query,
                &SearchOptions {
                    limit: 10,
                    ..Default::default()
                },
            )
            .expect("search");
        end_to_end_ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let stats = memory.stats().expect("stats");
    let db_bytes = std::fs::metadata(store.path())
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "{}",
        serde_json::json!({
            "chunks": chunks, "real_vectors": real, "queries": queries,
            "insert_chunks_per_second": chunks as f64 / insert_seconds,
            "open_seconds": open_seconds,
            "exact_vec0_ms": {"p50": percentile(&mut exact_ms, 0.5), "p95": percentile(&mut exact_ms, 0.95)},
            "vector_path_ms": {"p50": percentile(&mut vector_ms, 0.5), "p95": percentile(&mut vector_ms, 0.95)},
            "hybrid_ms": {"p50": percentile(&mut hybrid_ms, 0.5), "p95": percentile(&mut hybrid_ms, 0.95)},
            "hybrid_with_query_embedding_ms": {"p50": percentile(&mut end_to_end_ms, 0.5), "p95": percentile(&mut end_to_end_ms, 0.95)},
            "recall_at_10": recall / queries as f64,
            "vector_cache_mb": stats.vector_cache_bytes as f64 / 1e6,
            "database_mb": db_bytes as f64 / 1e6,
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("embed") => embed_mode(&args[1..]),
        Some("search") => search_mode(&args[1..]),
        _ => eprintln!("usage: memory embed <texts.jsonl> <threads> <batch> | memory search <model> <chunks> <real> <queries> <out>"),
    }
}
