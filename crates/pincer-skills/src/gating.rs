//! OpenClaw's gating (`metadata.openclaw`): `always`, `os`, and `requires`
//! (`bins` all on PATH, `anyBins` one of them, `env` variables set,
//! `config` keys on). A skill this machine does not meet is listed with
//! the reason and left out of the catalog.

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// Whether a skill can work here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Eligibility {
    /// It can.
    Eligible,
    /// It cannot, and why.
    Ineligible {
        /// What is missing.
        why: String,
    },
}

/// What the gating looks at on this machine.
#[derive(Clone, Debug, Default)]
pub struct Host {
    /// The config keys that are on (OpenClaw's `requires.config`).
    pub config: BTreeSet<String>,
}

impl Host {
    /// OpenClaw's name for this OS (Node's `process.platform`).
    fn os() -> &'static str {
        match std::env::consts::OS {
            "macos" => "darwin",
            "windows" => "win32",
            other => other,
        }
    }

    /// Checks a skill's `metadata.openclaw` against this machine.
    pub fn check(&self, metadata: &Value) -> Eligibility {
        let Some(openclaw) = metadata.get("openclaw") else {
            return Eligibility::Eligible;
        };
        if openclaw.get("always").and_then(Value::as_bool) == Some(true) {
            return Eligibility::Eligible;
        }
        let strings = |value: Option<&Value>| -> Vec<String> {
            match value {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                Some(Value::String(one)) => vec![one.clone()],
                _ => Vec::new(),
            }
        };
        let os = strings(openclaw.get("os"));
        if !os.is_empty() && !os.iter().any(|o| o == Self::os()) {
            return ineligible(format!("it is for {} only", os.join(", ")));
        }
        let requires = openclaw.get("requires");
        let need = |key: &str| strings(requires.and_then(|r| r.get(key)));
        let missing: Vec<String> = need("bins")
            .into_iter()
            .filter(|bin| which::which(bin).is_err())
            .collect();
        if !missing.is_empty() {
            return ineligible(format!("it needs {} on PATH", missing.join(", ")));
        }
        let any = need("anyBins");
        if !any.is_empty() && !any.iter().any(|bin| which::which(bin).is_ok()) {
            return ineligible(format!("it needs one of {} on PATH", any.join(", ")));
        }
        let unset: Vec<String> = need("env")
            .into_iter()
            .filter(|name| std::env::var_os(name).is_none_or(|v| v.is_empty()))
            .collect();
        if !unset.is_empty() {
            return ineligible(format!("it needs {} set", unset.join(", ")));
        }
        let off: Vec<String> = need("config")
            .into_iter()
            .filter(|key| !self.config.contains(key))
            .collect();
        if !off.is_empty() {
            return ineligible(format!("it needs the setting {} on", off.join(", ")));
        }
        Eligibility::Eligible
    }
}

fn ineligible(why: String) -> Eligibility {
    Eligibility::Ineligible { why }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_requirement_can_exclude_a_skill() {
        let host = Host::default();
        let check = |openclaw: Value| host.check(&json!({ "openclaw": openclaw }));
        assert_eq!(host.check(&Value::Null), Eligibility::Eligible);
        assert_eq!(check(json!({"requires": {"bins": ["sh"]}})), Eligibility::Eligible);
        let why = |e: Eligibility| match e {
            Eligibility::Ineligible { why } => why,
            Eligibility::Eligible => String::new(),
        };
        assert!(why(check(json!({"requires": {"bins": ["sh", "no-such-bin-x"]}}))).contains("no-such-bin-x"));
        assert!(why(check(json!({"requires": {"anyBins": ["no-a", "no-b"]}}))).contains("one of no-a, no-b"));
        assert!(why(check(json!({"requires": {"env": ["PINCER_NO_SUCH_VARIABLE"]}}))).contains("PINCER_NO_SUCH_VARIABLE"));
        assert!(why(check(json!({"requires": {"config": ["browser.enabled"]}}))).contains("browser.enabled"));
        assert!(why(check(json!({"os": ["plan9"]}))).contains("plan9"));
        // `always` skips the other gates.
        assert_eq!(check(json!({"always": true, "os": ["plan9"]})), Eligibility::Eligible);
    }
}
