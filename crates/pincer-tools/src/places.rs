//! The places a tool may touch: the workspace and the folders the owner
//! granted, each read only or writable. A path the model names is resolved
//! the way the file system will resolve it (symlinks followed, `..`
//! applied), and only then checked against the places, so a link or a
//! `..` that leads outside is refused rather than followed.

use crate::{Result, ToolError};
use serde::Serialize;
use std::path::{Component, Path, PathBuf};

/// What a tool wants to do at a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Access {
    /// Read a file or list a folder.
    Read,
    /// Create or change a file.
    Write,
}

/// One granted place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Place {
    /// The folder, resolved.
    pub root: PathBuf,
    /// Whether tools may write in it.
    pub writable: bool,
}

/// The places tools may touch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Places(Vec<Place>);

impl Places {
    /// No place at all: every path is refused.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds `root` (it must be an existing folder).
    pub fn grant(mut self, root: &Path, writable: bool) -> Result<Self> {
        let resolved = root.canonicalize().map_err(|error| {
            ToolError::Refused(format!(
                "{} cannot be granted ({error}); grant a folder that exists",
                root.display()
            ))
        })?;
        if !resolved.is_dir() {
            return Err(ToolError::Refused(format!(
                "{} is not a folder; grant the folder that holds it",
                resolved.display()
            )));
        }
        // Granting a folder again changes how it is granted, in its place.
        match self.0.iter_mut().find(|p| p.root == resolved) {
            Some(place) => place.writable = writable,
            None => self.0.push(Place {
                root: resolved,
                writable,
            }),
        }
        Ok(self)
    }

    /// Takes a granted folder back (matched after resolving, so the path
    /// may be spelt as the owner typed it); whether it was granted.
    pub fn revoke(&mut self, root: &Path) -> bool {
        let resolved = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let before = self.0.len();
        self.0.retain(|p| p.root != resolved && p.root != root);
        self.0.len() != before
    }

    /// The granted places.
    pub fn list(&self) -> &[Place] {
        &self.0
    }

    /// Resolves `asked` (absolute, or relative to the first place) for
    /// `access`, refusing anything that ends up outside every place that
    /// allows it. A path to write need not exist yet; its folder must.
    pub fn resolve(&self, asked: &str, access: Access) -> Result<PathBuf> {
        let Some(first) = self.0.first() else {
            return Err(ToolError::Refused(
                "no folder is granted to tools; grant one in Settings".into(),
            ));
        };
        if asked.trim().is_empty() {
            return Err(ToolError::InvalidArguments(
                "the path is empty; give a file or folder inside the workspace".into(),
            ));
        }
        let joined = first.root.join(asked);
        let resolved = match joined.canonicalize() {
            Ok(found) => found,
            Err(_) if access == Access::Write => resolve_new(&joined)?,
            Err(error) => {
                return Err(ToolError::NotFound(format!(
                    "{asked} cannot be opened ({error}); list the folder to see what is there"
                )))
            }
        };
        let place = self
            .0
            .iter()
            .filter(|p| resolved.starts_with(&p.root))
            .max_by_key(|p| p.root.components().count());
        match place {
            None => Err(ToolError::Refused(format!(
                "{asked} is outside the folders granted to tools ({}); ask the owner to grant it",
                self.roots()
            ))),
            Some(place) if access == Access::Write && !place.writable => {
                Err(ToolError::Refused(format!(
                    "{} is granted read only; ask the owner to let tools write there",
                    place.root.display()
                )))
            }
            Some(_) => Ok(resolved),
        }
    }

    fn roots(&self) -> String {
        self.0
            .iter()
            .map(|p| p.root.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A file to create: its folder resolved (links followed), its name kept,
/// which must be a plain name (no `..`, no separator).
fn resolve_new(path: &Path) -> Result<PathBuf> {
    let name = match path.components().next_back() {
        Some(Component::Normal(name)) => name.to_owned(),
        _ => {
            return Err(ToolError::InvalidArguments(format!(
                "{} does not name a file; end the path with the file's name",
                path.display()
            )))
        }
    };
    let folder = path.parent().unwrap_or(Path::new("/"));
    let folder = folder.canonicalize().map_err(|error| {
        ToolError::NotFound(format!(
            "the folder {} does not exist ({error}); write into a folder that does",
            folder.display()
        ))
    })?;
    let target = folder.join(name);
    // A dangling link inside would send the write wherever it points.
    if target.symlink_metadata().is_ok() {
        return Err(ToolError::Refused(format!(
            "{} is a link to a place that does not exist; tools do not write through it",
            target.display()
        )));
    }
    Ok(target)
}
