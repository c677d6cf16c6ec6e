//! Training runs on the generated tiny model: a run paused mid-step and
//! resumed by a fresh trainer ends exactly where an uninterrupted run ends,
//! and a damaged or half-written checkpoint never replaces a whole one.

use candle_core::{DType, Device};
use pincer_training::lora::LoraConfig;
use pincer_training::qwen3::Qwen3;
use pincer_training::trainer::{logprobs, Example, Outcome, TrainSettings, Trainer};
use std::cell::Cell;
use std::collections::HashMap;
use std::path::Path;

fn settings() -> TrainSettings {
    TrainSettings {
        lora: LoraConfig {
            rank: 4,
            ..Default::default()
        },
        epochs: 2,
        accumulation: 3,
        seed: 5,
        ..Default::default()
    }
}

/// Seven turns with served logprobs from the base: alternating scores, a
/// hint on every third, one too long to keep.
fn examples(model: &Path) -> Vec<Example> {
    let base = Qwen3::load(model, DType::F32, &Device::Cpu, None, 0).unwrap();
    (0..8u32)
        .map(|i| {
            let prompt: Vec<u32> = (0..6).map(|j| 3 + (i * 37 + j * 11) % 400).collect();
            let response: Vec<u32> = (0..5).map(|j| 3 + (i * 13 + j * 29) % 400).collect();
            let served = logprobs(&base, &prompt, &response).unwrap();
            let teacher_prompt = (i % 3 == 0).then(|| [prompt.clone(), vec![77, 78, 79]].concat());
            let prompt = if i == 7 { vec![5; 3000] } else { prompt };
            Example {
                trajectory_id: i as i64,
                prompt,
                response,
                served,
                score: if i % 2 == 0 { 1.0 } else { -1.0 },
                teacher_prompt,
            }
        })
        .collect()
}

fn tensors(adapter: &Path) -> HashMap<String, Vec<f32>> {
    candle_core::safetensors::load(adapter.join("adapter_model.safetensors"), &Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(name, t)| (name, t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect()
}

fn finished(
    outcome: Outcome,
) -> (
    std::path::PathBuf,
    Vec<pincer_training::checkpoint::StepRecord>,
) {
    match outcome {
        Outcome::Finished { adapter, history } => (adapter, history),
        other => panic!("expected a finished run, got {other:?}"),
    }
}

#[test]
fn a_run_paused_mid_step_resumes_to_exactly_the_uninterrupted_result() {
    let model = xtask::shared_tiny_model();
    let cpu = Device::Cpu;
    let data = examples(model);

    let whole = tempfile::tempdir().unwrap();
    let mut trainer =
        Trainer::prepare(whole.path(), model, None, data.clone(), settings(), &cpu).unwrap();
    assert_eq!(
        (trainer.plan().examples.len(), trainer.plan().skipped),
        (7, 1),
        "the over-long turn is left out"
    );
    assert_eq!(
        trainer.plan().total_steps,
        6,
        "7 examples in steps of 3, twice"
    );
    assert_eq!(
        trainer
            .plan()
            .teacher
            .iter()
            .filter(|t| t.is_some())
            .count(),
        3,
        "teacher logprobs for each hinted turn"
    );
    let mut reported = Vec::new();
    let (adapter, history) = finished(
        trainer
            .run(&|| false, &mut |p| {
                reported.push((p.record.step, p.total_steps))
            })
            .unwrap(),
    );
    assert_eq!(reported, (1..=6).map(|s| (s, 6)).collect::<Vec<_>>());
    assert!(
        history
            .iter()
            .all(|r| r.loss.is_finite() && r.grad_norm > 0.0 && r.tokens > 0),
        "{history:?}"
    );
    let trained = tensors(&adapter);
    assert!(
        trained
            .iter()
            .any(|(n, v)| n.contains("lora_B") && v.iter().any(|x| *x != 0.0)),
        "training moved the adapter"
    );

    // Steps take 3, 3 and 1 examples per epoch; pausing on the 9th example
    // asked for stops in the middle of step 4.
    let paused = tempfile::tempdir().unwrap();
    let mut first = Trainer::prepare(paused.path(), model, None, data, settings(), &cpu).unwrap();
    let asked = Cell::new(0);
    let outcome = first
        .run(
            &|| {
                asked.set(asked.get() + 1);
                asked.get() == 9
            },
            &mut |_| {},
        )
        .unwrap();
    assert_eq!(outcome, Outcome::Paused { step: 3 });
    drop(first);
    // A half-written later checkpoint (a kill during the save) is ignored.
    std::fs::create_dir_all(paused.path().join("checkpoints/step-000004")).unwrap();
    std::fs::write(
        paused.path().join("checkpoints/latest.partial"),
        "step-000004",
    )
    .unwrap();

    let mut second = Trainer::resume(paused.path(), &cpu).unwrap();
    assert_eq!(second.step(), 3);
    let (resumed, resumed_history) = finished(second.run(&|| false, &mut |_| {}).unwrap());
    assert_eq!(
        tensors(&resumed),
        trained,
        "the resumed run ends bit for bit where the uninterrupted one did"
    );
    let numbers = |h: &[pincer_training::checkpoint::StepRecord]| {
        h.iter()
            .map(|r| (r.step, r.loss, r.grad_norm, r.tokens))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        numbers(&resumed_history),
        numbers(&history),
        "and with the same losses at every step"
    );
}

#[test]
fn a_damaged_plan_is_named_and_an_existing_run_is_not_overwritten() {
    let model = xtask::shared_tiny_model();
    let dir = tempfile::tempdir().unwrap();
    Trainer::prepare(
        dir.path(),
        model,
        None,
        examples(model),
        settings(),
        &Device::Cpu,
    )
    .unwrap();
    let again = Trainer::prepare(dir.path(), model, None, vec![], settings(), &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(again.contains("already holds a run"), "{again}");
    std::fs::write(dir.path().join("run.json"), "{\"settings\":").unwrap();
    let damaged = Trainer::resume(dir.path(), &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(damaged.contains("run.json is damaged"), "{damaged}");
}
