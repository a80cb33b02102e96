//! `leastpriv record --cgroup PATH` (BPF): recording processes that already run in a cgroup
//! of their own, as a service or a container would.

use std::process::{Command, Stdio};
use std::time::Duration;

use leastpriv_tests::workloads::syscall_loop;
use leastpriv_tests::{
    assert_not_recorded, assert_recorded, cgroup_procs, comm, comm_of, record, require_bpf,
    wait_until, KillOnDrop, TestCgroup,
};

#[test]
fn bpf_records_an_existing_cgroup_for_a_duration() {
    if !require_bpf("bpf_records_an_existing_cgroup_for_a_duration") {
        return;
    }
    let cgroup = TestCgroup::new();
    // The shell moves itself into the cgroup, then becomes the loop. It runs far longer than
    // the recording needs (loading BPF included) and is killed with the cgroup.
    let exe = syscall_loop();
    let script = format!(
        "echo $$ > {}/cgroup.procs && exec {} getrusage 60",
        cgroup.path_str(),
        exe
    );
    let child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .expect("start sh");
    let _child = KillOnDrop(child);
    wait_until(
        Duration::from_secs(10),
        "syscall_loop to run in the test cgroup",
        || {
            cgroup_procs(cgroup.path())
                .into_iter()
                .any(|pid| comm(pid).as_deref() == Some(comm_of(&exe).as_str()))
                .then_some(())
        },
    );

    let rec = record(&["--cgroup", cgroup.path_str(), "--duration", "1s"]);
    rec.assert_success();
    assert!(
        rec.elapsed < Duration::from_secs(60),
        "--duration 1s took {:?}",
        rec.elapsed
    );
    assert_recorded(&rec.json, "x86_64", &["getrusage"]);
    // Only the running loop was watched: its start-up happened before recording began.
    assert_not_recorded(&rec.json, "x86_64", &["execve"]);
    assert_eq!(rec.json["target"]["cgroup"], cgroup.path_str(), "{rec}");
    assert!(
        rec.json.get("exit_status").is_none(),
        "exit_status in --cgroup mode:\n{rec}"
    );
    assert!(
        cgroup.path().is_dir(),
        "leastpriv removed a cgroup it did not create"
    );
}

/// `--duration` bounds watching a cgroup; with a command it is bad input (exit 2), and the
/// command is not run.
#[test]
fn duration_with_a_command_is_bad_input() {
    let dir = leastpriv_tests::tempdir();
    let touched = dir.path().join("ran");
    let output = leastpriv_tests::leastpriv()
        .args(["record", "--duration", "1s", "-o"])
        .arg(dir.path().join("rec.json"))
        .args(["--", "touch"])
        .arg(&touched)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        leastpriv_tests::describe(&output)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("--duration only applies"));
    assert!(!touched.exists(), "the command ran");
    assert!(
        !dir.path().join("rec.json").exists(),
        "a recording was written"
    );
}
