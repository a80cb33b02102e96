//! A recording holds its own command's syscalls and nobody else's (BPF): not those of a
//! process outside its cgroup, nor those of another recording running at the same time.

use std::process::{Command, Stdio};
use std::thread;

use leastpriv_tests::workloads::syscall_loop;
use leastpriv_tests::{
    assert_not_recorded, assert_recorded, record, require_bpf, KillOnDrop, Recorded,
};

/// Records `syscall_loop NAME SECONDS` and checks it succeeded.
fn record_loop(name: &str, seconds: &str) -> Recorded {
    let rec = record(&["--as-root", "--", &syscall_loop(), name, seconds]);
    rec.assert_success().assert_complete();
    rec
}

#[test]
fn bpf_process_outside_the_cgroup_is_not_recorded() {
    if !require_bpf("bpf_process_outside_the_cgroup_is_not_recorded") {
        return;
    }
    // Runs for longer than the recording (which includes loading BPF); killed at the end.
    let outside = Command::new(syscall_loop())
        .args(["sysinfo", "60"])
        .stdout(Stdio::null())
        .spawn()
        .expect("start the outside syscall_loop");
    let _outside = KillOnDrop(outside);

    let rec = record_loop("getpriority", "2");
    assert_recorded(&rec.json, "x86_64", &["getpriority"]);
    assert_not_recorded(&rec.json, "x86_64", &["sysinfo"]);
}

/// The counterpart of the test above: sysinfo is recorded when the command makes it, so its
/// absence there means something.
#[test]
fn bpf_sysinfo_is_recorded_when_the_command_makes_it() {
    if !require_bpf("bpf_sysinfo_is_recorded_when_the_command_makes_it") {
        return;
    }
    assert_recorded(&record_loop("sysinfo", "1").json, "x86_64", &["sysinfo"]);
}

#[test]
fn bpf_concurrent_recordings_stay_apart() {
    if !require_bpf("bpf_concurrent_recordings_stay_apart") {
        return;
    }
    let a = thread::spawn(|| record_loop("getpriority", "2"));
    let b = thread::spawn(|| record_loop("times", "2"));
    let (a, b) = (
        a.join().expect("recording A"),
        b.join().expect("recording B"),
    );
    assert_recorded(&a.json, "x86_64", &["getpriority"]);
    assert_not_recorded(&a.json, "x86_64", &["times"]);
    assert_recorded(&b.json, "x86_64", &["times"]);
    assert_not_recorded(&b.json, "x86_64", &["getpriority"]);
}

/// Eight recordings at once, each of a loop making its own syscall: each holds its own and
/// none of the other seven.
#[test]
fn bpf_eight_concurrent_recordings_each_see_only_their_own() {
    if !require_bpf("bpf_eight_concurrent_recordings_each_see_only_their_own") {
        return;
    }
    const SYSCALLS: [&str; 8] = [
        "sysinfo",
        "getpriority",
        "times",
        "getrusage",
        "uname",
        "sched_getaffinity",
        "getsid",
        "getitimer",
    ];
    let recordings: Vec<(&str, Recorded)> = thread::scope(|scope| {
        let running: Vec<_> = SYSCALLS
            .iter()
            .map(|&name| (name, scope.spawn(move || record_loop(name, "1.5"))))
            .collect();
        running
            .into_iter()
            .map(|(name, handle)| (name, handle.join().expect("recording thread")))
            .collect()
    });
    for (own, rec) in &recordings {
        assert_recorded(&rec.json, "x86_64", &[own]);
        let others: Vec<&str> = SYSCALLS.iter().copied().filter(|s| s != own).collect();
        assert_not_recorded(&rec.json, "x86_64", &others);
    }
}
