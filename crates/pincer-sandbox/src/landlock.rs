//! The sandbox where bubblewrap cannot run (it is missing, or a container
//! forbids its namespaces): the command confines itself just before it
//! starts. Landlock lets it read the system's programs and libraries, `/proc`
//! and a few `/etc` files, write its scratch folder and the writable grants,
//! read the read-only grants, and nothing else; it may not use TCP, signal a
//! process outside its sandbox or reach an abstract socket made outside it.
//! A seccomp filter refuses every socket (so no network at all, UDP and
//! local sockets included), `io_uring` (which could open sockets past the
//! filter) and leaving its process group, so the whole group is killed when
//! it ends, times out or is stopped. Unlike bubblewrap it has no private
//! `/tmp` (its `TMPDIR` is the scratch folder) and the machine's other
//! processes are listed in `/proc`, though it cannot touch them.

use crate::{Job, Result, SandboxError};
use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The Landlock version every rule above needs (Linux 6.12): files, TCP and
/// the signal and abstract-socket scopes.
const ABI_NEEDED: ABI = ABI::V6;

/// What the command may read besides the system's folders and files
/// (the same bubblewrap binds) and its grants.
const READABLE: [&str; 2] = ["/proc", "/dev/urandom"];

/// What it may write besides its scratch folder and grants.
const WRITABLE: [&str; 2] = ["/dev/null", "/dev/zero"];

/// What to tell an owner whose kernel cannot do this.
pub(crate) const WHAT_TO_DO: &str =
    "install bubblewrap (`sudo apt install bubblewrap`), or run Pincer on Linux 6.12 or later with Landlock enabled";

fn unavailable(why: impl std::fmt::Display) -> SandboxError {
    SandboxError::Unavailable {
        why: format!("Landlock cannot confine a command here ({why})"),
        what_to_do: WHAT_TO_DO.into(),
    }
}

/// The rules for one command; every one of them is required.
fn ruleset(read_only: &[PathBuf], writable: &[PathBuf]) -> Result<RulesetCreated> {
    let abi = ABI_NEEDED;
    let readable = crate::SYSTEM_DIRS
        .iter()
        .chain(crate::SYSTEM_FILES.iter())
        .chain(READABLE.iter())
        .map(PathBuf::from)
        .chain(read_only.iter().cloned());
    let writable = WRITABLE.iter().map(PathBuf::from).chain(writable.iter().cloned());
    Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::from_all(abi))
        .and_then(|r| r.handle_access(AccessNet::from_all(abi)))
        .and_then(|r| r.scope(Scope::from_all(abi)))
        .and_then(|r| r.create())
        .and_then(|r| r.add_rules(path_beneath_rules(readable, AccessFs::from_read(abi))))
        .and_then(|r| r.add_rules(path_beneath_rules(writable, AccessFs::from_all(abi))))
        .map_err(unavailable)
}

/// The seccomp filter: no sockets, no `io_uring`, no new session or group.
fn filter() -> Result<BpfProgram> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => TargetArch::x86_64,
        "aarch64" => TargetArch::aarch64,
        other => return Err(unavailable(format!("no seccomp filter for {other}"))),
    };
    let refused = [
        libc::SYS_socket,
        libc::SYS_io_uring_setup,
        libc::SYS_setsid,
        libc::SYS_setpgid,
    ];
    let filter = SeccompFilter::new(
        refused.into_iter().map(|call| (call, Vec::new())).collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(unavailable)?;
    filter.try_into().map_err(unavailable)
}

/// The command for `job`, which confines itself between fork and exec:
/// its own process group, killed if Pincer dies, then Landlock, then the
/// filter. A confinement that cannot be made in full stops it from starting.
pub(crate) fn command(
    job: &Job,
    scratch: &Path,
    read_only: &[PathBuf],
    writable: &[PathBuf],
    env: &[(String, String)],
) -> Result<tokio::process::Command> {
    let mut all_writable = vec![scratch.to_path_buf()];
    all_writable.extend(writable.iter().cloned());
    let ruleset = Mutex::new(Some(ruleset(read_only, &all_writable)?));
    let filter = filter()?;
    let path = env
        .iter()
        .find(|(name, _)| name == "PATH")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let program = which::which_in(&job.program, Some(path), scratch).map_err(|_| {
        SandboxError::InvalidJob(format!(
            "`{}` is not a program on the sandbox's PATH",
            job.program
        ))
    })?;
    let mut command = tokio::process::Command::new(program);
    command
        .args(&job.args)
        .env_clear()
        .envs(env.iter().map(|(n, v)| (n, v)))
        .current_dir(scratch);
    let confine = move || -> std::io::Result<()> {
        // Only async-signal-safe work happens here: the rules and the
        // filter were built before the fork.
        // SAFETY: plain syscalls on the calling (child) process.
        #[allow(unsafe_code)]
        unsafe {
            if libc::setpgid(0, 0) != 0
                || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
        }
        let ruleset = ruleset
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| std::io::Error::other("the sandbox's rules were already used"))?;
        let status = ruleset.restrict_self().map_err(std::io::Error::other)?;
        if status.ruleset != RulesetStatus::FullyEnforced || !status.no_new_privs {
            return Err(std::io::Error::other("Landlock did not enforce every rule"));
        }
        seccompiler::apply_filter(&filter).map_err(std::io::Error::other)
    };
    // SAFETY: `confine` only makes syscalls and takes an uncontended lock
    // it owns; it allocates nothing the child could deadlock on.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(confine);
    }
    Ok(command)
}

/// Kills the command's process group when the run ends or is dropped, so
/// nothing it started outlives it.
pub(crate) struct GroupKill(pub(crate) Option<u32>);

impl GroupKill {
    /// Kills what is left of the group now.
    pub(crate) fn kill(&self) {
        if let Some(group) = self.0.and_then(|pid| i32::try_from(pid).ok()) {
            // SAFETY: a signal to the group the command leads (it cannot leave it).
            #[allow(unsafe_code)]
            unsafe {
                libc::killpg(group, libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        self.kill();
    }
}
