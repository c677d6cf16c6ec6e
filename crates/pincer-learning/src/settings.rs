//! The learning loop's part of `settings.json`: how many samples the judge
//! takes and with which model, the nightly schedule, and the trainer's
//! settings the owner changed. The app keeps these keys at the top level of
//! its settings file.

use crate::{LearningError, Result, TrainOptions, TrainingSchedule};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The learning settings, as `settings.json` holds them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct LearningSettings {
    /// Samples the judge takes per turn (1–9; a majority decides).
    pub judge_samples: u8,
    /// A local model (.gguf file or folder) that judges turns instead of the
    /// serving model; loaded beside it on the judge's first turn.
    pub judge_model: Option<PathBuf>,
    /// "Train tonight while charging": armed or not, the window and thresholds.
    pub training: TrainingSchedule,
    /// The trainer's settings the owner changed (the rest keep defaults).
    pub trainer: TrainerSettings,
}

impl Default for LearningSettings {
    fn default() -> Self {
        Self {
            judge_samples: pincer_training::judge::DEFAULT_SAMPLES as u8,
            judge_model: None,
            training: TrainingSchedule::default(),
            trainer: TrainerSettings::default(),
        }
    }
}

impl LearningSettings {
    /// Samples the judge takes per turn, held to 1–9.
    pub fn samples(&self) -> u32 {
        u32::from(self.judge_samples.clamp(1, 9))
    }
}

/// The trainer's settings an owner may change in `settings.json`, e.g.
/// `"trainer": {"rank": 8, "alpha": 16, "learningRate": 0.0002, "epochs": 3}`.
/// A field left out keeps its default; a bad value stops the next round
/// with a message naming it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrainerSettings {
    /// LoRA rank, 1–256 (default 16).
    pub rank: Option<usize>,
    /// LoRA alpha: the update is scaled by alpha / rank (default 32).
    pub alpha: Option<f64>,
    /// AdamW's learning rate, above 0 and below 0.1 (default 1e-4).
    pub learning_rate: Option<f64>,
    /// Passes over a round's turns, 1–20 (default 2).
    pub epochs: Option<usize>,
}

impl TrainerSettings {
    /// `options` with these settings applied, or which one is wrong.
    pub fn apply(&self, mut options: TrainOptions) -> Result<TrainOptions> {
        let bad = |field: &str, value: String, allowed: &str| {
            Err(LearningError::InvalidInput(format!(
                "settings.json: trainer.{field} is {value}; it must be {allowed}. Fix it in the data folder's settings.json"
            )))
        };
        if let Some(rank) = self.rank {
            if !(1..=256).contains(&rank) {
                return bad("rank", rank.to_string(), "between 1 and 256");
            }
            options.settings.lora.rank = rank;
        }
        if let Some(alpha) = self.alpha {
            if !(alpha.is_finite() && alpha > 0.0) {
                return bad("alpha", alpha.to_string(), "a positive number");
            }
            options.settings.lora.alpha = alpha;
        }
        if let Some(rate) = self.learning_rate {
            if !(rate > 0.0 && rate < 0.1) {
                return bad("learningRate", rate.to_string(), "above 0 and below 0.1");
            }
            options.settings.optimizer.learning_rate = rate;
        }
        if let Some(epochs) = self.epochs {
            if !(1..=20).contains(&epochs) {
                return bad("epochs", epochs.to_string(), "between 1 and 20");
            }
            options.settings.epochs = epochs;
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::LearningSettings;

    #[test]
    fn the_owners_trainer_settings_apply_and_bad_ones_are_named() {
        let settings: LearningSettings = serde_json::from_str(
            r#"{"trainer": {"rank": 8, "alpha": 16, "learningRate": 0.0005, "epochs": 3}}"#,
        )
        .unwrap();
        let options = settings.trainer.apply(Default::default()).unwrap();
        assert_eq!(options.settings.lora.rank, 8);
        assert_eq!(options.settings.lora.alpha, 16.0);
        assert_eq!(options.settings.optimizer.learning_rate, 0.0005);
        assert_eq!(options.settings.epochs, 3);
        let defaults = LearningSettings::default()
            .trainer
            .apply(Default::default())
            .unwrap();
        assert_eq!(
            defaults.settings.lora.rank, 16,
            "unset fields keep their defaults"
        );
        for (json, named) in [
            (r#"{"rank": 0}"#, "trainer.rank is 0"),
            (r#"{"learningRate": 2.0}"#, "trainer.learningRate is 2"),
            (r#"{"alpha": -1}"#, "trainer.alpha is -1"),
            (r#"{"epochs": 99}"#, "trainer.epochs is 99"),
        ] {
            let settings: LearningSettings =
                serde_json::from_str(&format!(r#"{{"trainer": {json}}}"#)).unwrap();
            let error = settings
                .trainer
                .apply(Default::default())
                .unwrap_err()
                .to_string();
            assert!(error.contains(named), "{error}");
        }
    }
}
