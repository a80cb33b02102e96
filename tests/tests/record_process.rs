//! How `leastpriv record -- CMD` runs the command (BPF): exit statuses, the user it runs as,
//! signals, processes left behind, and that it cleans up its cgroup.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::time::{Duration, Instant};

use leastpriv_tests::workloads::{self, syscall_loop};
use leastpriv_tests::{
    assert_no_leftover_cgroup, assert_recorded, bin, describe, has_exited, is_root, leastpriv,
    left_running_comms, read_recording, record, require_bpf, run, tempdir,
    wait_for_recorded_process, wait_until, Running, RUN_TIMEOUT,
};
use serde_json::Value;

/// Runs `leastpriv ARGS...` (no recording file of ours) and returns its output.
fn leastpriv_output(args: &[&str]) -> std::process::Output {
    let mut cmd = leastpriv();
    cmd.args(args);
    run(cmd)
}

/// Records `sh -c SCRIPT` and returns leastpriv's exit code (and the recording).
fn recorded_exit_code(script: &str) -> (i32, Value) {
    let rec = record(&["--as-root", "--", "sh", "-c", script]);
    let code = rec
        .status
        .code()
        .unwrap_or_else(|| panic!("leastpriv killed by a signal:\n{rec}"));
    (code, rec.json)
}

#[test]
fn bpf_exit_status_is_the_commands() {
    if !require_bpf("bpf_exit_status_is_the_commands") {
        return;
    }
    for status in [0, 7] {
        let (code, rec) = recorded_exit_code(&format!("exit {status}"));
        assert_eq!(code, status, "{rec:#}");
        assert_eq!(rec["exit_status"], status, "{rec:#}");
    }
    // Killed by SIGKILL: 128 + 9, as a shell reports it.
    let (code, rec) = recorded_exit_code("kill -9 $$");
    assert_eq!(code, 137, "{rec:#}");
}

#[test]
fn bpf_missing_command_exits_127() {
    if !require_bpf("bpf_missing_command_exits_127") {
        return;
    }
    for command in ["/nonexistent/cmd", "leastpriv-no-such-command"] {
        let output = leastpriv_output(&["record", "--as-root", "--", command]);
        assert_eq!(
            output.status.code(),
            Some(127),
            "{command}:\n{}",
            describe(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(command),
            "stderr does not name {command}:\n{stderr}"
        );
    }
}

#[test]
fn bpf_non_executable_command_exits_126() {
    if !require_bpf("bpf_non_executable_command_exits_126") {
        return;
    }
    let dir = tempdir();
    let script = dir.path().join("not-executable");
    fs::write(&script, "#!/bin/sh\nexit 0\n").expect("write script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o644)).expect("chmod 644");
    let script = script.to_str().expect("UTF-8 path");
    let output = leastpriv_output(&["record", "--as-root", "--", script]);
    assert_eq!(output.status.code(), Some(126), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(script),
        "stderr does not name {script}:\n{stderr}"
    );
}

/// Without root (and so without CAP_BPF and the rest) it fails with 125 and says what is
/// missing. As root, the test drops to nobody with setpriv; otherwise it already is a user.
#[test]
fn not_root_exits_125_naming_what_is_missing() {
    let dir = tempdir();
    // nobody must reach both the binary and the output directory.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).expect("chmod 777");
    let binary = dir.path().join("leastpriv");
    fs::copy(bin(), &binary).expect("copy the binary");
    fs::set_permissions(&binary, fs::Permissions::from_mode(0o755)).expect("chmod 755");
    let out = dir.path().join("recording.json");

    let mut cmd = if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(&binary);
        cmd
    } else {
        Command::new(&binary)
    };
    cmd.arg("record").arg("-o").arg(&out).args(["--", "true"]);
    let output = run(cmd);
    assert_eq!(output.status.code(), Some(125), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("root") || stderr.contains("CAP_"),
        "stderr names neither root nor a capability:\n{stderr}"
    );
}

/// nobody's `(name, home)` from the passwd database.
fn nobody() -> (String, String) {
    let output = Command::new("getent")
        .args(["passwd", "65534"])
        .output()
        .expect("run getent");
    assert!(
        output.status.success(),
        "no passwd entry for 65534: {}",
        describe(&output)
    );
    let entry = String::from_utf8(output.stdout).expect("UTF-8 passwd entry");
    let fields: Vec<&str> = entry.trim_end().split(':').collect();
    (fields[0].to_owned(), fields[5].to_owned())
}

/// Records `sh -c 'id -u; id -g; echo $HOME $USER $LOGNAME'` as if started by `sudo` from
/// nobody, and returns what it printed.
fn identity_under_sudo(extra_args: &[&str]) -> String {
    let dir = tempdir();
    let out = dir.path().join("recording.json");
    let mut cmd = leastpriv();
    cmd.arg("record").arg("-o").arg(&out).args(extra_args);
    cmd.args(["--", "sh", "-c", "id -u; id -g; echo $HOME $USER $LOGNAME"]);
    cmd.env("SUDO_UID", "65534")
        .env("SUDO_GID", "65534")
        .env("SUDO_USER", "nobody");
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

#[test]
fn bpf_sudo_runs_the_command_as_the_invoking_user() {
    if !require_bpf("bpf_sudo_runs_the_command_as_the_invoking_user") {
        return;
    }
    let (name, home) = nobody();
    assert_eq!(
        identity_under_sudo(&[]),
        format!("65534\n65534\n{home} {name} {name}\n")
    );
}

#[test]
fn bpf_sudo_with_as_root_keeps_root() {
    if !require_bpf("bpf_sudo_with_as_root_keeps_root") {
        return;
    }
    let printed = identity_under_sudo(&["--as-root"]);
    let ids: Vec<&str> = printed.lines().take(2).collect();
    assert_eq!(ids, ["0", "0"], "printed:\n{printed}");
}

/// Sends `signal` to leastpriv while it records `sleep 30`: it must pass the signal on, exit
/// with 128 + signal soon, write an incomplete recording and remove its cgroup.
fn assert_signal_stops_recording(signal: libc::c_int) {
    let dir = tempdir();
    let out = dir.path().join("recording.json");
    let mut cmd = leastpriv();
    cmd.arg("record")
        .arg("-o")
        .arg(&out)
        .args(["--as-root", "--", "sleep", "30"]);
    let running = Running::spawn(cmd);
    let pid = running.pid();
    wait_for_recorded_process(pid, "sleep");

    let signalled = Instant::now();
    running.signal(signal);
    let (output, _) = running.wait(RUN_TIMEOUT);
    let took = signalled.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "exited {took:?} after the signal:\n{}",
        describe(&output)
    );
    assert_eq!(
        output.status.code(),
        Some(128 + signal),
        "{}",
        describe(&output)
    );

    let rec = read_recording(&out).unwrap_or_else(|e| panic!("{e}\n{}", describe(&output)));
    assert_eq!(rec["complete"], Value::Bool(false), "{rec:#}");
    let reason = rec["incomplete_reason"].as_str().unwrap_or_default();
    assert!(!reason.is_empty(), "no incomplete_reason: {rec:#}");
    assert_no_leftover_cgroup(pid);
}

#[test]
fn bpf_sigint_is_forwarded_and_marks_incomplete() {
    if !require_bpf("bpf_sigint_is_forwarded_and_marks_incomplete") {
        return;
    }
    assert_signal_stops_recording(libc::SIGINT);
}

#[test]
fn bpf_sigterm_is_forwarded_and_marks_incomplete() {
    if !require_bpf("bpf_sigterm_is_forwarded_and_marks_incomplete") {
        return;
    }
    assert_signal_stops_recording(libc::SIGTERM);
}

/// A background process outliving the command is recorded for the grace period, then listed
/// in `left_running` and killed.
#[test]
fn bpf_grace_period_ends_leftover_processes() {
    if !require_bpf("bpf_grace_period_ends_leftover_processes") {
        return;
    }
    let rec = record(&[
        "--as-root",
        "--grace",
        "1s",
        "--",
        "sh",
        "-c",
        "sleep 30 & exit 0",
    ]);
    rec.assert_success();
    assert!(
        rec.elapsed < Duration::from_secs(20),
        "took {:?} with a 1s grace period:\n{rec}",
        rec.elapsed
    );
    assert!(
        left_running_comms(&rec.json).iter().any(|c| c == "sleep"),
        "sleep not in left_running:\n{rec}"
    );
    assert_no_leftover_cgroup(rec.pid);

    for entry in rec.json["left_running"].as_array().into_iter().flatten() {
        let pid = entry["pid"]
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .expect("left_running pid");
        wait_until(
            Duration::from_secs(5),
            &format!("left-running pid {pid} to be killed"),
            || has_exited(pid).then_some(()),
        );
    }
}

/// The daemon's grandchild makes its syscall 300 ms after the command exits: the recorder
/// must wait for it (well within the default grace period) and see it.
#[test]
fn bpf_daemon_grandchild_is_waited_for() {
    if !require_bpf("bpf_daemon_grandchild_is_waited_for") {
        return;
    }
    let daemon = workloads::daemon();
    let mut args = vec!["--as-root", "--"];
    args.extend(daemon.argv());
    let rec = record(&args);
    rec.assert_success().assert_complete();
    assert_recorded(&rec.json, "x86_64", &["setsid", "uname"]);
    assert!(
        left_running_comms(&rec.json).is_empty(),
        "the daemon ended by itself:\n{rec}"
    );
    assert_no_leftover_cgroup(rec.pid);
}

/// The recording names the command and the executables it ran.
#[test]
fn bpf_recording_describes_the_run() {
    if !require_bpf("bpf_recording_describes_the_run") {
        return;
    }
    let exe = syscall_loop();
    let rec = record(&["--as-root", "--", &exe, "times", "0.1"]);
    rec.assert_success().assert_complete();
    let json = &rec.json;
    assert_eq!(json["format"], "leastpriv-recording", "{rec}");
    assert_eq!(json["version"], 1, "{rec}");
    assert_eq!(json["tool"]["name"], "leastpriv", "{rec}");
    assert_eq!(
        json["target"]["command"],
        serde_json::json!([exe, "times", "0.1"]),
        "{rec}"
    );
    assert_eq!(json["exit_status"], 0, "{rec}");
    assert_eq!(json["host"]["arch"], std::env::consts::ARCH, "{rec}");
    assert!(
        json["started_at"].is_string() && json["finished_at"].is_string(),
        "{rec}"
    );
    let execs: Vec<_> = json["executables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["path"] == exe.as_str())
        .map(|e| e["execs"].clone())
        .collect();
    assert_eq!(
        execs,
        [1],
        "{exe} should be recorded as executed once:\n{rec}"
    );
    // Syscall lists are sorted by number.
    let numbers: Vec<u64> = json["syscalls"]["x86_64"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["nr"].as_u64())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "x86_64 syscalls not sorted by nr: {numbers:?}"
    );
    assert_recorded(json, "x86_64", &["execve", "times", "exit_group"]);
}

/// A recorder killed with SIGKILL cannot remove its cgroup; the next recording finds such an
/// empty `leastpriv-<pid>-<n>` cgroup whose recorder is gone, removes it, and says so.
#[test]
fn bpf_cgroups_left_by_dead_recorders_are_removed_and_reported() {
    if !require_bpf("bpf_cgroups_left_by_dead_recorders_are_removed_and_reported") {
        return;
    }
    // A pid above the default pid_max of 64-bit kernels cannot belong to a live process.
    let dead_pid = 4_194_304 + u32::from(std::process::id() as u16);
    assert!(!std::path::Path::new(&format!("/proc/{dead_pid}")).exists());
    let stale = leastpriv_tests::cgroup2_mount().join(format!("leastpriv-{dead_pid}-0"));
    // Other tests record in parallel and any of their recorders may clean the stale cgroup up
    // first (and report it in their own output), so try a few times: every attempt must see it
    // removed, and at least one must be the recording that removed it and said so.
    let mut last_stderr = String::new();
    for _ in 0..5 {
        std::fs::create_dir(&stale).unwrap();
        let rec = leastpriv_tests::record(&["--as-root", "--", "true"]);
        let still_there = stale.exists();
        let _ = std::fs::remove_dir(&stale);
        assert!(
            !still_there,
            "{} was not removed:\n{}",
            stale.display(),
            rec.stderr
        );
        if rec.stderr.contains(&format!("removed {}", stale.display())) {
            return;
        }
        last_stderr = rec.stderr;
    }
    panic!("the removal was never reported:\n{last_stderr}");
}

/// How many BPF links process `pid` holds open (its attached programs).
fn bpf_links_held(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.filter_map(Result::ok)
                .filter_map(|fd| fs::read_link(fd.path()).ok())
                .filter(|target| target.to_string_lossy() == "anon_inode:bpf_link")
                .count()
        })
        .unwrap_or(0)
}

/// The benchmark floor stops at SIGINT or SIGTERM, with a duration given as well: the signal
/// is caught (to detach cleanly), so it must end the wait, not wait for the duration.
#[test]
fn bpf_bench_floor_stops_at_a_signal_before_its_duration() {
    if !require_bpf("bpf_bench_floor_stops_at_a_signal_before_its_duration") {
        return;
    }
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut cmd = leastpriv();
        cmd.args(["bench-floor", "--duration", "1h"]);
        let floor = Running::spawn(cmd);
        let pid = floor.pid();
        wait_until(
            Duration::from_secs(30),
            "bench-floor to hold its two programs attached",
            || (bpf_links_held(pid) == 2).then_some(()),
        );
        floor.signal(signal);
        // Kills it and panics if it still runs a minute after its start (its duration is 1h).
        let (output, _) = floor.wait(Duration::from_secs(60));
        assert!(output.status.success(), "{}", describe(&output));
    }
}
