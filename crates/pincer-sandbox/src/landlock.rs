//! The sandbox where bubblewrap cannot run (it is missing, or a container
//! forbids its namespaces): the command confines itself just before it
//! starts. Landlock lets it read the system's programs and libraries, `/proc`
//! and a few `/etc` files, write its scratch folder and the writable grants,
//! read the read-only grants, and open nothing else; it may not use TCP,
//! signal a process outside its sandbox or reach an abstract socket made
//! outside it. A seccomp filter refuses every socket (so no network at all,
//! UDP and local sockets included), `io_uring` (which could open sockets past
//! the filter), changing any file's permissions, owner or extended attributes
//! (Landlock does not cover those), leaving its process group, and every x32
//! system call (another way to the same calls), so the whole group is killed
//! when it ends, times out or is stopped. Unlike bubblewrap it has no private
//! `/tmp` (its `TMPDIR` is the scratch folder), the machine's other processes
//! are listed in `/proc` though out of reach, and if Pincer itself is killed
//! only the command's first process dies with it: what that process started
//! in the background may run on.

use crate::{Job, Result, SandboxError};
use landlock::{
    path_beneath_rules, Access, AccessFs, AccessNet, CompatLevel, Compatible, Ruleset,
    RulesetAttr, RulesetCreated, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use seccompiler::{sock_filter, BpfProgram, SeccompAction, SeccompFilter, TargetArch};
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

/// `fchmodat2`, the same number on every architecture (Linux 6.6).
const SYS_FCHMODAT2: i64 = 452;

/// The calls the filter refuses with `EPERM`.
fn refused_calls() -> Vec<i64> {
    let mut calls = vec![
        libc::SYS_socket,
        libc::SYS_io_uring_setup,
        libc::SYS_setsid,
        libc::SYS_setpgid,
        libc::SYS_fchmod,
        libc::SYS_fchmodat,
        SYS_FCHMODAT2,
        libc::SYS_fchown,
        libc::SYS_fchownat,
        libc::SYS_setxattr,
        libc::SYS_lsetxattr,
        libc::SYS_fsetxattr,
        libc::SYS_removexattr,
        libc::SYS_lremovexattr,
        libc::SYS_fremovexattr,
    ];
    // Calls only x86-64 has; aarch64 reaches the same through the `*at` ones.
    #[cfg(target_arch = "x86_64")]
    calls.extend([libc::SYS_chmod, libc::SYS_chown, libc::SYS_lchown]);
    calls
}

/// The seccomp filter: the refused calls, then (on x86-64) every call
/// numbered past the x32 bit, which would otherwise reach them again.
fn filter() -> Result<BpfProgram> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => TargetArch::x86_64,
        "aarch64" => TargetArch::aarch64,
        other => return Err(unavailable(format!("no seccomp filter for {other}"))),
    };
    let filter = SeccompFilter::new(
        refused_calls().into_iter().map(|call| (call, Vec::new())).collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(unavailable)?;
    let mut program: BpfProgram = filter.try_into().map_err(unavailable)?;
    if arch == TargetArch::x86_64 {
        // seccompiler checks the architecture but not the x32 bit: after
        // its check (three instructions), refuse any number at or past it.
        const LD_W_ABS: u16 = 0x20;
        const JGE_K: u16 = 0x35;
        const RET_K: u16 = 0x06;
        const X32_BIT: u32 = 0x4000_0000;
        let x32 = [
            sock_filter { code: LD_W_ABS, jt: 0, jf: 0, k: 0 },
            sock_filter { code: JGE_K, jt: 0, jf: 1, k: X32_BIT },
            sock_filter { code: RET_K, jt: 0, jf: 0, k: libc::SECCOMP_RET_ERRNO | libc::EPERM as u32 },
        ];
        program.splice(3..3, x32);
    }
    Ok(program)
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
    // The last one wins, as it does in the environment the command gets.
    let path = env
        .iter()
        .rev()
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
        // Between fork and exec: the rules and the filter were built before
        // the fork, and every failure is an errno, never an allocation.
        let refused = || std::io::Error::from_raw_os_error(libc::EPERM);
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
            .ok_or_else(refused)?;
        match ruleset.restrict_self() {
            Ok(status) if status.ruleset == RulesetStatus::FullyEnforced && status.no_new_privs => {}
            _ => return Err(refused()),
        }
        seccompiler::apply_filter(&filter).map_err(|_| refused())
    };
    // SAFETY: `confine` only makes syscalls and takes an uncontended lock
    // it owns; it allocates nothing on its own paths (Landlock's crate may
    // on a failure it reports, after which the child exits).
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(confine);
    }
    Ok(command)
}

/// Kills the command's process group when the run ends or is dropped, so
/// nothing it started outlives it; once only, so a group number the system
/// gives out again later is never signalled.
pub(crate) struct GroupKill(pub(crate) Option<u32>);

impl GroupKill {
    /// Kills what is left of the group now (members keep its number taken
    /// while they live, so it is still this group's).
    pub(crate) fn kill(&mut self) {
        if let Some(group) = self.0.take().and_then(|pid| i32::try_from(pid).ok()) {
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
