//! Argument-aware seccomp: a workload using unix and inet sockets passes under the profile
//! generated from its recording, and the same profile stops an AF_PACKET socket and an
//! unshare(CLONE_NEWUSER), both under `leastpriv run` and inside runc. Without argument
//! conditions (`--no-args`) the same calls go through, so it is the conditions that stop them.

use std::{fs, path::Path, process::Output};

use leastpriv_tests::{
    describe, leastpriv, record, require_bpf, run, runc, tempdir, workloads::build_workload,
};
use serde_json::Value;

/// Generates a profile (OCI JSON) from a recording, with extra `generate seccomp` arguments.
fn generate(recording: &Path, extra: &[&str]) -> Value {
    let mut cmd = leastpriv();
    cmd.args(["generate", "seccomp"])
        .arg(recording)
        .args(["--runtime", "runc"])
        .args(extra);
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn under_leastpriv(profile: &Value, dir: &Path, argv: &[&str]) -> Output {
    let file = dir.join("profile.json");
    fs::write(&file, profile.to_string()).unwrap();
    let mut cmd = leastpriv();
    cmd.args(["run", "--as-root", "--seccomp"])
        .arg(&file)
        .arg("--")
        .args(argv);
    run(cmd)
}

fn assert_refused(output: &Output, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(1),
        "{what} was not stopped: {}",
        describe(output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{what}: Operation not permitted")),
        "{}",
        describe(output)
    );
}

#[test]
fn bpf_argument_conditions_stop_new_socket_families_and_namespaces() {
    if !require_bpf("bpf_argument_conditions_stop_new_socket_families_and_namespaces") {
        return;
    }
    let program = build_workload("args_sockets", &[]);
    let dir = tempdir();
    let rec = record(&["--as-root", "--", &program, "normal"]);
    assert!(rec.status.success(), "{}", rec.stderr);
    let recording = dir.path().join("rec.json");
    fs::write(&recording, serde_json::to_string(&rec.json).unwrap()).unwrap();

    // The recording names the values by name.
    let sockets = &rec.json["arguments"]["x86_64"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["syscall"] == "socket")
        .unwrap()["values"];
    let names: Vec<&Value> = sockets
        .as_array()
        .unwrap()
        .iter()
        .map(|v| &v["names"][0])
        .collect();
    assert_eq!(names, ["AF_UNIX", "AF_INET"], "{sockets}");

    let narrowed = generate(&recording, &[]);
    let socket_rules: Vec<&Value> = narrowed["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["names"] == serde_json::json!(["socket"]))
        .collect();
    assert_eq!(
        socket_rules.len(),
        2,
        "one rule per recorded (family, type, protocol)"
    );
    let plain = generate(&recording, &["--no-args"]);

    // Under leastpriv run.
    let ok = under_leastpriv(&narrowed, dir.path(), &[&program, "normal"]);
    assert!(ok.status.success(), "{}", describe(&ok));
    assert_refused(
        &under_leastpriv(&narrowed, dir.path(), &[&program, "packet"]),
        "packet socket",
    );
    assert_refused(
        &under_leastpriv(&narrowed, dir.path(), &[&program, "userns"]),
        "unshare(CLONE_NEWUSER)",
    );
    let control = under_leastpriv(&plain, dir.path(), &[&program, "packet"]);
    assert!(
        control.status.success(),
        "without conditions the packet socket goes through: {}",
        describe(&control)
    );

    // Inside runc, with CAP_NET_RAW so that only the profile can stop the packet socket.
    let in_runc = |mode: &str, profile: &Value| {
        runc::run_with_capabilities(&[&program, mode], profile, &["CAP_NET_RAW"])
    };
    let ok = in_runc("normal", &narrowed);
    assert!(ok.status.success(), "{}", describe(&ok));
    assert_refused(&in_runc("packet", &narrowed), "packet socket");
    assert_refused(&in_runc("userns", &narrowed), "unshare(CLONE_NEWUSER)");
    // (The user namespace has no control here: this runc setup refuses it by itself, from a
    // chroot-like root; `leastpriv run` above shows that the profile alone stops it.)
    let control = in_runc("packet", &plain);
    assert!(
        control.status.success(),
        "without conditions the packet socket goes through in runc: {}",
        describe(&control)
    );
}
