//! The audit vocabulary: every action Pincer records and who can act.
//! Written once here, so a new capability adds its actions to one list
//! and the Audit pane's filters, exports and tests all read the same names.

macro_rules! actions {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)*) => {
        /// What was done. The dotted name is what the log stores.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Action {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Action {
            /// Every action, in the order they are listed.
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// The dotted name stored in the log (`soul.save`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }
        }
    };
}

actions! {
    /// A trained adapter was taken out of service (or another put back).
    AdapterRollback => "adapter.rollback",
    /// The owner halted the agent.
    AgentHalt => "agent.halt",
    /// The owner let the agent act again.
    AgentResume => "agent.resume",
    /// The audit log was exported.
    AuditExport => "audit.export",
    /// Old audit records were pruned (retention).
    AuditPrune => "audit.prune",
    /// A backup of the database and the workspace's markdown was taken.
    BackupTake => "backup.take",
    /// A backup was restored over the data folder.
    BackupRestore => "backup.restore",
    /// The owner asked for a backup to be restored at the next start (or took it back).
    BackupRestoreAtStart => "backup.restore_at_start",
    /// The owner chose where backups are kept.
    ConfigBackupFolder => "config.backup_folder",
    /// The gateway's settings changed.
    ConfigGateway => "config.gateway",
    /// A gateway request was refused or throttled for its token.
    GatewayAuth => "gateway.auth",
    /// A gateway request named a host that is not loopback.
    GatewayHost => "gateway.host",
    /// A gateway request came from a foreign web origin.
    GatewayOrigin => "gateway.origin",
    /// A browser traded a pairing code for the token.
    GatewayPair => "gateway.pair",
    /// Consent to learn from a source was given or withdrawn.
    LearningConsent => "learning.consent",
    /// Learning records were deleted.
    LearningDelete => "learning.delete",
    /// Learning records were exported.
    LearningExport => "learning.export",
    /// The owner rated or corrected an answer.
    LearningFeedback => "learning.feedback",
    /// The judge scored a turn.
    LearningJudge => "learning.judge",
    /// A request to another host carried a secret.
    LeakOutbound => "leak.outbound",
    /// A secret was redacted before it was stored, logged or exported.
    LeakRedacted => "leak.redacted",
    /// An MCP server started, failed, is restarted or stopped.
    McpServer => "mcp.server",
    /// The memory index was rebuilt.
    MemoryReindex => "memory.reindex",
    /// "Remember that …" wrote to today's note.
    MemoryRemember => "memory.remember",
    /// A folder or file was added to memory.
    MemorySourceAdd => "memory.source.add",
    /// A memory source was forgotten.
    MemorySourceForget => "memory.source.forget",
    /// A model was loaded.
    ModelLoad => "model.load",
    /// The model was unloaded.
    ModelUnload => "model.unload",
    /// Pincer made a secret it manages (the master key).
    SecretCreate => "secret.create",
    /// The owner deleted a secret.
    SecretDelete => "secret.delete",
    /// The owner stored a secret.
    SecretSet => "secret.set",
    /// A secret's value was shown or handed out.
    SecretUse => "secret.use",
    /// The owner enabled or disabled a skill (at the hash its files had then).
    SkillDecision => "skill.decision",
    /// The owner accepted a change to a protected file.
    SoulAccept => "soul.accept",
    /// A protected file changed on disk outside Pincer (held).
    SoulChangedOutside => "soul.changed_outside",
    /// The agent proposed a change to a protected file.
    SoulPropose => "soul.propose",
    /// The owner rejected (reverted) a change.
    SoulReject => "soul.reject",
    /// A protected file was saved.
    SoulSave => "soul.save",
    /// Sealed mode was turned on.
    SoulSeal => "soul.seal",
    /// Sealed mode was turned off.
    SoulUnseal => "soul.unseal",
    /// The gateway token was moved from its legacy file into the vault.
    TokenMigrate => "token.migrate",
    /// The gateway token was replaced.
    TokenRotate => "token.rotate",
    /// The owner answered the gate's question about a tool call (or nobody did in time).
    ToolAnswer => "tool.answer",
    /// The agent called a tool: the gate's decision, the outcome, how long it took.
    ToolCall => "tool.call",
    /// The owner granted a folder to the agent's tools, or took it back.
    ToolFolder => "tool.folder",
    /// The owner saved or revoked an "allow always" rule for a tool call.
    ToolRule => "tool.rule",
    /// The nightly round was armed.
    TrainingArm => "training.arm",
    /// The nightly round was disarmed.
    TrainingDisarm => "training.disarm",
    /// A training round was paused.
    TrainingPause => "training.pause",
    /// A training round ended: promoted, rejected or failed.
    TrainingRound => "training.round",
    /// A training round was started.
    TrainingStart => "training.start",
}

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Actor {
    /// The owner, in the app, the UI or the CLI.
    Owner,
    /// The agent itself.
    Agent,
    /// Pincer on its own (start-up, schedules, migrations).
    System,
    /// A caller of the gateway.
    Client,
    /// The leak guard.
    Guard,
    /// The background judge that scores turns.
    Judge,
}

impl Actor {
    /// The name stored in the log.
    pub const fn as_str(self) -> &'static str {
        match self {
            Actor::Owner => "owner",
            Actor::Agent => "agent",
            Actor::System => "system",
            Actor::Client => "client",
            Actor::Guard => "guard",
            Actor::Judge => "judge",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_its_own_dotted_lowercase_name() {
        let mut seen = std::collections::HashSet::new();
        for action in Action::ALL {
            let name = action.as_str();
            assert!(seen.insert(name), "{name} is listed twice");
            assert!(
                name.contains('.')
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'_'),
                "{name} is not a dotted lowercase name"
            );
        }
    }
}
