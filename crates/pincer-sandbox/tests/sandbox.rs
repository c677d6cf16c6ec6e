//! The sandbox holds: real commands under the real bubblewrap (which
//! `scripts/install.sh` installs), and under its fallback, Landlock with
//! seccomp, cannot reach the network, write outside their scratch folder
//! or read what the owner did not grant, and stop at their budget. Every
//! check runs under both.

use pincer_sandbox::{Budget, Job, Sandbox};
use std::path::Path;
use std::time::{Duration, Instant};

/// Each check, once under each sandbox.
macro_rules! under_both {
    ($($check:ident),* $(,)?) => {$(
        mod $check {
            #[tokio::test]
            async fn bubblewrap() {
                super::$check(&pincer_sandbox::Sandbox::bubblewrap().unwrap_or_else(|e| panic!("{e}"))).await
            }
            #[tokio::test]
            async fn landlock() {
                super::$check(&pincer_sandbox::Sandbox::landlock().unwrap_or_else(|e| panic!("{e}"))).await
            }
        }
    )*};
}

under_both!(
    a_command_runs_in_its_scratch_folder_and_its_output_comes_back,
    a_command_cannot_open_a_socket,
    a_command_cannot_write_outside_its_scratch_folder,
    a_command_reads_only_what_the_owner_granted,
    a_command_past_its_time_budget_is_killed_with_everything_it_started,
    output_past_the_budget_is_cut_and_said_so,
    a_grant_that_is_not_there_or_is_everything_is_refused,
    a_command_cannot_signal_a_process_outside_it,
    a_command_cannot_change_permissions_outside_its_scratch_folder,
);

#[test]
fn the_best_sandbox_here_is_bubblewrap() {
    let sandbox = Sandbox::detect().unwrap_or_else(|error| panic!("{error}"));
    assert!(sandbox.describe().starts_with("bubblewrap"), "{}", sandbox.describe());
    assert!(Sandbox::landlock().unwrap().describe().starts_with("Landlock"));
}

fn shell(scratch: &Path, script: &str) -> Job {
    Job {
        program: "sh".into(),
        args: vec!["-c".into(), script.into()],
        scratch: scratch.to_path_buf(),
        ..Job::default()
    }
}

async fn a_command_runs_in_its_scratch_folder_and_its_output_comes_back(sandbox: &Sandbox) {
    let scratch = tempfile::tempdir().unwrap();
    let done = sandbox
        .run(&shell(
            scratch.path(),
            "echo hello > note.txt && cat note.txt && pwd && echo $HOME",
        ))
        .await
        .unwrap();
    let here = scratch.path().canonicalize().unwrap().display().to_string();
    assert_eq!(done.exit_code, Some(0), "{done:?}");
    assert_eq!(done.stdout, format!("hello\n{here}\n{here}\n"));
    assert_eq!(
        std::fs::read_to_string(scratch.path().join("note.txt")).unwrap(),
        "hello\n"
    );
    assert!(sandbox.describe().contains("no network"));
}

async fn a_command_cannot_open_a_socket(sandbox: &Sandbox) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let scratch = tempfile::tempdir().unwrap();
    let job = Job {
        program: "python3".into(),
        args: vec![
            "-c".into(),
            format!("import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5); print('connected')"),
        ],
        scratch: scratch.path().to_path_buf(),
        ..Job::default()
    };
    let done = sandbox.run(&job).await.unwrap();
    assert_ne!(done.exit_code, Some(0), "{done:?}");
    assert!(!done.stdout.contains("connected"), "{done:?}");
    assert!(
        ["Network is unreachable", "refused", "not permitted"]
            .iter()
            .any(|said| done.stderr.contains(said)),
        "{done:?}"
    );
    assert!(
        listener.accept().is_err(),
        "nothing reached the host's listener"
    );
}

async fn a_command_cannot_write_outside_its_scratch_folder(sandbox: &Sandbox) {
    let scratch = tempfile::tempdir().unwrap();
    let granted = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(granted.path().join("kept.txt"), "as it was\n").unwrap();
    let script = format!(
        "echo changed > {granted}/kept.txt; echo x > {outside}/new.txt; echo x > /usr/pincer-test; touch /etc/pincer-test; echo done",
        granted = granted.path().display(),
        outside = outside.path().display()
    );
    let job = Job {
        read_only: vec![granted.path().to_path_buf()],
        ..shell(scratch.path(), &script)
    };
    let done = sandbox.run(&job).await.unwrap();
    assert_eq!(done.stdout, "done\n", "{done:?}");
    assert!(
        done.stderr.contains("Read-only file system") || done.stderr.contains("Permission denied"),
        "{done:?}"
    );
    assert_eq!(
        std::fs::read_to_string(granted.path().join("kept.txt")).unwrap(),
        "as it was\n"
    );
    assert!(!outside.path().join("new.txt").exists());
    assert!(!Path::new("/usr/pincer-test").exists());
    assert!(!Path::new("/etc/pincer-test").exists());
}

async fn a_command_reads_only_what_the_owner_granted(sandbox: &Sandbox) {
    let scratch = tempfile::tempdir().unwrap();
    let granted = tempfile::tempdir().unwrap();
    let private = tempfile::tempdir().unwrap();
    std::fs::write(granted.path().join("notes.md"), "shared notes\n").unwrap();
    std::fs::write(private.path().join("diary.md"), "private diary\n").unwrap();
    let script = format!(
        "cat {}/notes.md; cat {}/diary.md; ls /root /home 2>&1 | head -3",
        granted.path().display(),
        private.path().display()
    );
    let job = Job {
        read_only: vec![granted.path().to_path_buf()],
        ..shell(scratch.path(), &script)
    };
    let done = sandbox.run(&job).await.unwrap();
    assert!(done.stdout.contains("shared notes"), "{done:?}");
    assert!(!done.stdout.contains("private diary"), "{done:?}");
    assert!(
        done.stderr.contains("No such file") || done.stderr.contains("Permission denied"),
        "{done:?}"
    );
}

async fn a_command_past_its_time_budget_is_killed_with_everything_it_started(sandbox: &Sandbox) {
    let scratch = tempfile::tempdir().unwrap();
    // A marker only this test's processes carry, to find them on the host.
    let marker = format!("{}.{}", 300 + std::process::id() % 100, std::process::id());
    let job = Job {
        budget: Budget {
            time: Duration::from_millis(500),
            ..Budget::default()
        },
        ..shell(scratch.path(), &format!("sleep {marker} & sleep {marker}"))
    };
    let done = sandbox.run(&job).await.unwrap();
    assert!(done.timed_out, "{done:?}");
    assert_eq!(done.exit_code, None);
    let deadline = Instant::now() + Duration::from_secs(10);
    while running_with(&marker) {
        assert!(
            Instant::now() < deadline,
            "a command outlived its sandbox's kill"
        );
        std::thread::sleep(Duration::from_millis(20)); // polling interval, not synchronisation
    }
}

fn running_with(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline"))
            .is_ok_and(|line| String::from_utf8_lossy(&line).contains(marker))
    })
}

async fn output_past_the_budget_is_cut_and_said_so(sandbox: &Sandbox) {
    let scratch = tempfile::tempdir().unwrap();
    let job = Job {
        budget: Budget {
            output_bytes: 1000,
            ..Budget::default()
        },
        ..shell(scratch.path(), "head -c 1000000 /dev/zero | tr '\\0' a")
    };
    let done = sandbox.run(&job).await.unwrap();
    assert_eq!(done.exit_code, Some(0), "{done:?}");
    assert_eq!(done.stdout.len(), 1000);
    assert!(done.truncated);
}

async fn a_grant_that_is_not_there_or_is_everything_is_refused(sandbox: &Sandbox) {
    let scratch = tempfile::tempdir().unwrap();
    let missing = Job {
        read_only: vec!["/no/such/folder".into()],
        ..shell(scratch.path(), "true")
    };
    let refused = sandbox.run(&missing).await.unwrap_err().to_string();
    assert!(refused.contains("/no/such/folder"), "{refused}");
    let everything = Job {
        writable: vec!["/".into()],
        ..shell(scratch.path(), "true")
    };
    let refused = sandbox.run(&everything).await.unwrap_err().to_string();
    assert!(refused.contains("whole file system"), "{refused}");
}

async fn a_command_cannot_signal_a_process_outside_it(sandbox: &Sandbox) {
    let mut outside = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let script = format!("kill -9 {} && echo killed", outside.id());
    let done = sandbox.run(&shell(scratch.path(), &script)).await.unwrap();
    assert!(!done.stdout.contains("killed"), "{done:?}");
    assert_eq!(outside.try_wait().unwrap(), None, "the process outside is alive");
    outside.kill().unwrap();
    outside.wait().unwrap();
}

async fn a_command_cannot_change_permissions_outside_its_scratch_folder(sandbox: &Sandbox) {
    use std::os::unix::fs::PermissionsExt;
    let scratch = tempfile::tempdir().unwrap();
    let granted = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    for folder in [granted.path(), outside.path()] {
        std::fs::write(folder.join("key"), "secret").unwrap();
        std::fs::set_permissions(folder.join("key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let script = format!(
        "chmod 644 {g}/key; chmod 644 {o}/key; echo done",
        g = granted.path().display(),
        o = outside.path().display()
    );
    let job = Job {
        read_only: vec![granted.path().to_path_buf()],
        ..shell(scratch.path(), &script)
    };
    let done = sandbox.run(&job).await.unwrap();
    assert_eq!(done.stdout, "done\n", "{done:?}");
    for folder in [granted.path(), outside.path()] {
        let mode = std::fs::metadata(folder.join("key")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} was changed: {done:?}", folder.display());
    }
}

/// seccompiler checks the architecture but not the x32 bit; the fallback
/// adds that check (on kernels with or without x32, the filter sees the call first).
#[cfg(target_arch = "x86_64")]
#[tokio::test]
async fn landlock_refuses_the_x32_way_to_a_socket() {
    let sandbox = Sandbox::landlock().unwrap_or_else(|e| panic!("{e}"));
    let scratch = tempfile::tempdir().unwrap();
    let job = Job {
        program: "python3".into(),
        args: vec![
            "-c".into(),
            "import ctypes; c = ctypes.CDLL(None, use_errno=True); fd = c.syscall(0x40000000 + 41, 2, 1, 0); print(fd, ctypes.get_errno())".into(),
        ],
        scratch: scratch.path().to_path_buf(),
        ..Job::default()
    };
    let done = sandbox.run(&job).await.unwrap();
    assert_eq!(done.stdout.trim(), "-1 1", "refused with EPERM: {done:?}");
}
