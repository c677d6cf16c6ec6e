//! The gate's questions to the owner and the "allow always" rules they
//! saved. A question waits for the owner's answer, from the chat or the
//! control API, until it times out (then the call is denied, recorded as a
//! timeout, not as the owner's no). Rules are exact (one tool, these
//! arguments), kept in a file of their own and revocable.

use pincer_tools::gate::ExactRule;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// What the owner is asked about one tool call.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolQuestion {
    /// Names the question when it is answered.
    pub id: String,
    /// The chat the call was made in.
    pub session_id: String,
    /// The call's id in the conversation.
    pub call_id: String,
    /// The tool.
    pub tool: String,
    /// Its arguments as the model sent them.
    pub arguments: Value,
    /// The tool's effect class (`write`, `exec`, …).
    pub effect: String,
    /// Why the gate asks.
    pub why: String,
    /// Whether "Allow always" may be chosen.
    pub offer_always: bool,
    /// When it was asked, Unix milliseconds.
    pub asked_at_ms: i64,
}

/// The owner's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ToolAnswer {
    /// Run it this once.
    AllowOnce,
    /// Run it, and this exact call from now on without asking.
    AllowAlways,
    /// Do not run it.
    Deny,
}

impl ToolAnswer {
    /// The name recorded in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllowOnce => "allow_once",
            Self::AllowAlways => "allow_always",
            Self::Deny => "deny",
        }
    }
}

/// Questions waiting for the owner.
#[derive(Debug, Default)]
pub(crate) struct Questions {
    next: AtomicU64,
    open: Mutex<HashMap<String, (ToolQuestion, oneshot::Sender<ToolAnswer>)>>,
}

impl Questions {
    /// Files a question (its id is set here); the receiver gets the answer.
    pub(crate) fn ask(
        &self,
        mut question: ToolQuestion,
    ) -> (ToolQuestion, oneshot::Receiver<ToolAnswer>) {
        question.id = format!("q{}", self.next.fetch_add(1, Ordering::Relaxed) + 1);
        let (answer, answered) = oneshot::channel();
        self.lock()
            .insert(question.id.clone(), (question.clone(), answer));
        (question, answered)
    }

    /// Hands the owner's answer to the waiting turn.
    pub(crate) fn answer(&self, id: &str, answer: ToolAnswer) -> Result<ToolQuestion, String> {
        let mut open = self.lock();
        let Some((question, _)) = open.get(id) else {
            return Err(format!(
                "there is no open question {id:?}; it was answered, timed out or its chat was stopped"
            ));
        };
        if answer == ToolAnswer::AllowAlways && !question.offer_always {
            return Err(format!(
                "\"Allow always\" is not offered for this call ({}); allow it once or deny it",
                question.why
            ));
        }
        let (question, sender) = open.remove(id).expect("present: checked above");
        if sender.send(answer).is_err() {
            return Err("the chat that asked has ended; nothing was run".into());
        }
        Ok(question)
    }

    /// Takes a question back (timed out, or its turn ended).
    pub(crate) fn withdraw(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The questions waiting now, oldest first.
    pub(crate) fn open(&self) -> Vec<ToolQuestion> {
        let mut open: Vec<ToolQuestion> = self.lock().values().map(|(q, _)| q.clone()).collect();
        open.sort_by_key(|q| (q.asked_at_ms, q.id.clone()));
        open
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (ToolQuestion, oneshot::Sender<ToolAnswer>)>>
    {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The owner's "allow always" rules, in `tool-rules.json` (no file: none).
#[derive(Debug)]
pub(crate) struct Rules {
    path: Option<PathBuf>,
    rules: Mutex<Vec<ExactRule>>,
}

impl Rules {
    /// Loads the rules; an unreadable file is an error that names it (the
    /// rules are then empty, so every call asks: the safe side).
    pub(crate) fn load(path: Option<PathBuf>) -> (Self, Option<String>) {
        let mut problem = None;
        let rules = match &path {
            Some(file) => match std::fs::read_to_string(file) {
                Ok(text) => serde_json::from_str(&text).unwrap_or_else(|error| {
                    problem = Some(format!(
                        "{} is not a list of tool rules ({error}); every call asks until it is fixed or deleted",
                        file.display()
                    ));
                    Vec::new()
                }),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(error) => {
                    problem = Some(format!("{} cannot be read ({error})", file.display()));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        (
            Self {
                path,
                rules: Mutex::new(rules),
            },
            problem,
        )
    }

    pub(crate) fn list(&self) -> Vec<ExactRule> {
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Adds a rule (once) and saves the file atomically.
    pub(crate) fn add(&self, rule: ExactRule) -> std::io::Result<()> {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        if !rules.contains(&rule) {
            rules.push(rule);
        }
        self.save(&rules)
    }

    /// Removes a rule; `false` when there was none like it.
    pub(crate) fn revoke(&self, rule: &ExactRule) -> std::io::Result<bool> {
        let mut rules = self.rules.lock().unwrap_or_else(|p| p.into_inner());
        let before = rules.len();
        rules.retain(|r| r != rule);
        if rules.len() == before {
            return Ok(false);
        }
        self.save(&rules).map(|()| true)
    }

    fn save(&self, rules: &[ExactRule]) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let folder = path.parent().unwrap_or(std::path::Path::new("."));
        let mut file = tempfile::NamedTempFile::new_in(folder)?;
        serde_json::to_writer_pretty(&mut file, rules)?;
        file.as_file().sync_all()?;
        file.persist(path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(offer_always: bool) -> ToolQuestion {
        ToolQuestion {
            id: String::new(),
            session_id: "s".into(),
            call_id: "c".into(),
            tool: "write_file".into(),
            arguments: serde_json::json!({"path": "a"}),
            effect: "write".into(),
            why: "w".into(),
            offer_always,
            asked_at_ms: 0,
        }
    }

    #[test]
    fn an_answer_reaches_the_waiting_turn_once() {
        let questions = Questions::default();
        let (asked, mut answered) = questions.ask(question(true));
        assert_eq!(questions.open().len(), 1);
        questions
            .answer(&asked.id, ToolAnswer::AllowOnce)
            .expect("answered");
        assert_eq!(answered.try_recv().ok(), Some(ToolAnswer::AllowOnce));
        assert!(
            questions.answer(&asked.id, ToolAnswer::Deny).is_err(),
            "only once"
        );
        assert!(questions.open().is_empty());
    }

    #[test]
    fn allow_always_is_refused_where_it_is_not_offered() {
        let questions = Questions::default();
        let (asked, _answered) = questions.ask(question(false));
        let error = questions
            .answer(&asked.id, ToolAnswer::AllowAlways)
            .unwrap_err();
        assert!(error.contains("not offered"), "{error}");
        assert_eq!(questions.open().len(), 1, "the question is still open");
    }

    #[test]
    fn rules_survive_a_restart_and_a_bad_file_means_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tool-rules.json");
        let rule = ExactRule {
            tool: "write_file".into(),
            arguments: serde_json::json!({"path": "a", "content": "b"}),
        };
        let (rules, problem) = Rules::load(Some(path.clone()));
        assert!(problem.is_none());
        rules.add(rule.clone()).unwrap();
        assert_eq!(Rules::load(Some(path.clone())).0.list(), vec![rule.clone()]);
        assert!(rules.revoke(&rule).unwrap());
        assert!(Rules::load(Some(path.clone())).0.list().is_empty());
        std::fs::write(&path, "{not json").unwrap();
        let (rules, problem) = Rules::load(Some(path));
        assert!(rules.list().is_empty() && problem.is_some_and(|p| p.contains("every call asks")));
    }
}
