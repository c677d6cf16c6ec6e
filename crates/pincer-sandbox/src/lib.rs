//! Where the agent's commands run. A command gets no network (its own,
//! empty network namespace), sees the system's programs and libraries read
//! only, a scratch folder it may write, the folders the owner granted (read
//! only or writable, as granted) and nothing else of the machine: no home
//! folder, no other files, no other processes. It runs within a time and an
//! output budget, and dies with whoever started it, so a stopped turn or a
//! halted agent leaves nothing running.
//!
//! On Linux this is bubblewrap (`bwrap`, Debian's `bubblewrap`), which
//! needs no daemon and no privileges; where it cannot run, Landlock and a
//! seccomp filter (`landlock.rs`). A machine where neither can be set up
//! refuses commands: [`Sandbox::detect`] says why and what to install.
#![deny(missing_docs)]

mod job;
#[cfg(target_os = "linux")]
mod landlock;

pub use job::{Budget, Finished, Job};

use std::path::{Path, PathBuf};

/// What running a sandboxed command can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// No sandbox can be set up on this machine.
    #[error("no sandbox for commands on this machine: {why}; {what_to_do}")]
    Unavailable {
        /// Why not.
        why: String,
        /// How to get one.
        what_to_do: String,
    },
    /// A job names something the sandbox cannot give it.
    #[error("{0}")]
    InvalidJob(String),
    /// The sandbox itself could not start or be read.
    #[error("the sandbox could not run the command: {context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, SandboxError>;

/// A sandbox that works on this machine.
#[derive(Clone, Debug)]
pub struct Sandbox {
    kind: Kind,
}

/// Which sandbox it is.
#[derive(Clone, Debug)]
enum Kind {
    /// bubblewrap, at this path.
    Bubblewrap(PathBuf),
    /// The command confines itself with Landlock and seccomp.
    #[cfg(target_os = "linux")]
    Landlock,
}

/// What to tell an owner whose machine has no bubblewrap.
const INSTALL_BUBBLEWRAP: &str =
    "install bubblewrap (`sudo apt install bubblewrap`, `sudo dnf install bubblewrap`), then start Pincer again";

impl Sandbox {
    /// The best sandbox this machine can make: bubblewrap, else Landlock
    /// with seccomp; when neither works, why not for each.
    pub fn detect() -> Result<Self> {
        let bubblewrap = match Self::bubblewrap() {
            Ok(sandbox) => return Ok(sandbox),
            Err(error) => error,
        };
        #[cfg(target_os = "linux")]
        match Self::landlock() {
            Ok(sandbox) => return Ok(sandbox),
            Err(SandboxError::Unavailable { why, .. }) => {
                let (bubblewrap_why, bubblewrap_fix) = match bubblewrap {
                    SandboxError::Unavailable { why, what_to_do } => (why, what_to_do),
                    other => (other.to_string(), INSTALL_BUBBLEWRAP.to_string()),
                };
                return Err(SandboxError::Unavailable {
                    why: format!("{bubblewrap_why}, and {why}"),
                    what_to_do: format!("{bubblewrap_fix}; or run Pincer on Linux 6.12 or later with Landlock enabled"),
                });
            }
            Err(other) => return Err(other),
        }
        #[allow(unreachable_code)]
        Err(bubblewrap)
    }

    /// Landlock with seccomp, whether or not bubblewrap works here (the
    /// tests run both); checked by confining a command that must start.
    #[cfg(target_os = "linux")]
    pub fn landlock() -> Result<Self> {
        let sandbox = Self { kind: Kind::Landlock };
        let scratch = tempfile::tempdir().map_err(|source| SandboxError::Io {
            context: "making a folder to check the sandbox in".into(),
            source,
        })?;
        let probe = Job {
            program: "true".into(),
            scratch: scratch.path().to_path_buf(),
            ..Job::default()
        };
        let mut command = sandbox.landlock_command(&probe)?;
        let status = command
            .as_std_mut()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|e| unavailable_landlock(format!("a confined command did not start: {e}")))?;
        if !status.success() {
            return Err(SandboxError::Unavailable {
                why: format!("a command confined by Landlock did not start ({status})"),
                what_to_do: landlock::WHAT_TO_DO.into(),
            });
        }
        Ok(sandbox)
    }

    /// bubblewrap, checked to make a sandbox here (some containers forbid
    /// the namespaces it needs).
    pub fn bubblewrap() -> Result<Self> {
        let bwrap = which::which("bwrap").map_err(|_| SandboxError::Unavailable {
            why: "bubblewrap (`bwrap`) is not installed".into(),
            what_to_do: INSTALL_BUBBLEWRAP.into(),
        })?;
        let sandbox = Self { kind: Kind::Bubblewrap(bwrap.clone()) };
        let probe = std::process::Command::new(&bwrap)
            .args(sandbox.base_args())
            .arg("--")
            .arg("true")
            .output()
            .map_err(|source| SandboxError::Io {
                context: format!("starting {}", bwrap.display()),
                source,
            })?;
        if !probe.status.success() {
            return Err(SandboxError::Unavailable {
                why: format!(
                    "bubblewrap cannot make a sandbox here ({})",
                    String::from_utf8_lossy(&probe.stderr).trim()
                ),
                what_to_do: "allow unprivileged user namespaces (`sysctl kernel.unprivileged_userns_clone=1`) or run Pincer outside this container".into(),
            });
        }
        Ok(sandbox)
    }

    /// Which sandbox this is, for `pincer doctor` and the Tools pane.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Bubblewrap(bwrap) => format!(
                "bubblewrap ({}): no network, the system read only, a scratch folder and the granted folders",
                bwrap.display()
            ),
            #[cfg(target_os = "linux")]
            Kind::Landlock => "Landlock and seccomp (bubblewrap cannot run here): no network, the system read only, \
                a scratch folder and the granted folders; other processes are listed but out of reach"
                .into(),
        }
    }

    /// Runs `job` in the sandbox until it ends, runs out of time (then it
    /// is killed) or the returned future is dropped (then it is killed too).
    pub async fn run(&self, job: &Job) -> Result<Finished> {
        match &self.kind {
            Kind::Bubblewrap(bwrap) => {
                let mut command = tokio::process::Command::new(bwrap);
                command.args(self.job_args(job)?);
                job::run(command, &job.budget, false).await
            }
            #[cfg(target_os = "linux")]
            Kind::Landlock => job::run(self.landlock_command(job)?, &job.budget, true).await,
        }
    }

    /// The confined command for `job` (its grants checked as bubblewrap's are).
    #[cfg(target_os = "linux")]
    fn landlock_command(&self, job: &Job) -> Result<tokio::process::Command> {
        let (scratch, read_only, writable) = checked_places(job)?;
        let scratch_text = scratch.display().to_string();
        landlock::command(job, &scratch, &read_only, &writable, &environment(job, &scratch_text, &scratch_text))
    }

    /// The sandbox every job starts from: every namespace new (so no
    /// network), no capabilities, the system's programs and libraries read
    /// only, a private `/proc`, `/dev` and `/tmp`, an empty environment.
    fn base_args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "--unshare-all",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--clearenv",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
        ]
        .map(String::from)
        .to_vec();
        for system in SYSTEM_DIRS {
            let path = Path::new(system);
            match std::fs::read_link(path) {
                // `/bin -> usr/bin` on merged-/usr systems: the same link inside.
                Ok(target) => args.extend([
                    "--symlink".into(),
                    target.display().to_string(),
                    system.to_string(),
                ]),
                Err(_) if path.is_dir() => {
                    args.extend(["--ro-bind".into(), system.to_string(), system.to_string()])
                }
                Err(_) => {}
            }
        }
        for file in SYSTEM_FILES {
            args.extend(["--ro-bind-try".into(), file.to_string(), file.to_string()]);
        }
        args
    }

    fn job_args(&self, job: &Job) -> Result<Vec<String>> {
        let (scratch, read_only, writable) = checked_places(job)?;
        let mut args = self.base_args();
        for (path, flag) in read_only
            .iter()
            .map(|p| (p, "--ro-bind"))
            .chain(writable.iter().map(|p| (p, "--bind")))
        {
            args.extend([
                flag.into(),
                path.display().to_string(),
                path.display().to_string(),
            ]);
        }
        let scratch_text = scratch.display().to_string();
        args.extend(["--bind".into(), scratch_text.clone(), scratch_text.clone()]);
        args.extend(["--chdir".into(), scratch_text.clone()]);
        for (name, value) in environment(job, &scratch_text, "/tmp") {
            args.extend(["--setenv".into(), name, value]);
        }
        args.push("--".into());
        args.push(job.program.clone());
        args.extend(job.args.iter().cloned());
        Ok(args)
    }
}

/// A job's scratch folder and grants as they exist on disk; the whole file
/// system cannot be granted, and a job must name its program.
fn checked_places(job: &Job) -> Result<(PathBuf, Vec<PathBuf>, Vec<PathBuf>)> {
    if job.program.is_empty() {
        return Err(SandboxError::InvalidJob(
            "no program to run; name one (for example `sh`)".into(),
        ));
    }
    let scratch = existing_folder(&job.scratch, "the scratch folder")?;
    let granted = |paths: &[PathBuf]| -> Result<Vec<PathBuf>> {
        paths
            .iter()
            .map(|granted| {
                let path = existing(granted)?;
                if path == Path::new("/") {
                    return Err(SandboxError::InvalidJob(
                        "the whole file system cannot be granted to a command; grant the folders it needs"
                            .into(),
                    ));
                }
                Ok(path)
            })
            .collect()
    };
    Ok((scratch, granted(&job.read_only)?, granted(&job.writable)?))
}

/// A command's whole environment: a fixed `PATH`, its scratch folder as
/// `HOME`, `TMPDIR` and `LANG`, then the job's own variables.
fn environment(job: &Job, home: &str, tmp: &str) -> Vec<(String, String)> {
    [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("HOME", home),
        ("TMPDIR", tmp),
        ("LANG", "C.UTF-8"),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .chain(job.env.iter().cloned())
    .collect()
}

/// The system's programs and libraries, read only.
pub(crate) const SYSTEM_DIRS: [&str; 6] = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"];

/// What programs read from `/etc` to start at all; nothing else of it
/// (no keys, no host names, no user configuration).
pub(crate) const SYSTEM_FILES: [&str; 8] = [
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/alternatives",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/localtime",
    "/etc/mime.types",
];

#[cfg(target_os = "linux")]
fn unavailable_landlock(why: String) -> SandboxError {
    SandboxError::Unavailable {
        why,
        what_to_do: landlock::WHAT_TO_DO.into(),
    }
}

fn existing(path: &Path) -> Result<PathBuf> {
    path.canonicalize().map_err(|error| {
        SandboxError::InvalidJob(format!(
            "{} cannot be given to a command ({error}); grant a folder that exists",
            path.display()
        ))
    })
}

fn existing_folder(path: &Path, what: &str) -> Result<PathBuf> {
    let found = existing(path)?;
    if !found.is_dir() {
        return Err(SandboxError::InvalidJob(format!(
            "{what} {} is not a folder",
            found.display()
        )));
    }
    Ok(found)
}
