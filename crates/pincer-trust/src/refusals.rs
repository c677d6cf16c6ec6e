//! What the owner is told when the agent will not act, one text each, so
//! the app and every service that can refuse say it the same way.

/// No model is loaded to answer, judge or train with.
pub const NO_MODEL: &str =
    "no model is loaded; open Models to load a local .gguf file or folder, or download one";

/// The owner halted the agent (the kill switch in the tray and the status bar).
pub const HALTED: &str =
    "the agent is halted; choose Resume agent in the tray menu or the status bar to continue";
