//! Where Pincer keeps its files.

use crate::{AppError, Result};
use std::path::PathBuf;

/// The data folder: `explicit` (the `--data-dir` flag), else `PINCER_DATA_DIR`,
/// else the platform's data folder (`~/.local/share/pincer`,
/// `~/Library/Application Support/pincer`, `%APPDATA%\pincer`).
pub fn resolve_data_dir(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir);
    }
    if let Some(dir) = std::env::var_os("PINCER_DATA_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|d| d.join("pincer"))
        .ok_or(AppError::NoDataDir)
}
