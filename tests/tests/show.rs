//! `leastpriv show FILE`: a human summary of a recording. Reading a file needs neither root
//! nor BPF, except for the test that shows a fresh recording.

use std::fs;

use leastpriv_tests::{describe, leastpriv, record, require_bpf, run, tempdir, ABIS};
use serde_json::{json, Value};

/// Runs `leastpriv show FILE`.
fn show(file: &std::path::Path) -> std::process::Output {
    let mut cmd = leastpriv();
    cmd.arg("show").arg(file);
    run(cmd)
}

/// Whether `text` has `number` as a word of its own (not as part of 2026 or 0.1.0).
fn mentions_number(text: &str, number: u64) -> bool {
    let number = number.to_string();
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| word == number)
}

/// The recording's number of distinct syscalls and its total number of calls, over all ABIs.
fn syscall_counts(rec: &Value) -> (u64, u64) {
    let entries: Vec<&Value> = ABIS
        .iter()
        .filter_map(|abi| rec["syscalls"][abi].as_array())
        .flatten()
        .collect();
    let calls = entries
        .iter()
        .map(|e| e["count"].as_u64().unwrap_or(0))
        .sum();
    (entries.len() as u64, calls)
}

/// Shows `rec` and checks the summary mentions how many syscalls it holds (either the number
/// of distinct syscalls or the number of calls: both are a "syscall count").
fn assert_show_summarises(rec: &Value) {
    let dir = tempdir();
    let file = dir.path().join("recording.json");
    fs::write(&file, serde_json::to_string_pretty(rec).expect("serialise"))
        .expect("write recording");
    let output = show(&file);
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let (distinct, calls) = syscall_counts(rec);
    assert!(
        mentions_number(&stdout, distinct) || mentions_number(&stdout, calls),
        "the summary mentions neither {distinct} syscalls nor {calls} calls:\n{stdout}"
    );
}

#[test]
fn show_summarises_a_recording_file() {
    // Counts chosen so that 3 (distinct) and 19 (calls) appear nowhere else in the file.
    assert_show_summarises(&json!({
        "format": "leastpriv-recording",
        "version": 1,
        "tool": {"name": "leastpriv", "version": "0.1.0"},
        "host": {"kernel": "6.18.44", "arch": "x86_64"},
        "target": {"command": ["ls", "-l"]},
        "started_at": "2026-11-25T19:00:00Z",
        "finished_at": "2026-11-25T19:00:01Z",
        "complete": true,
        "exit_status": 0,
        "syscalls": {"x86_64": [
            {"nr": 0, "name": "read", "count": 12},
            {"nr": 1, "name": "write", "count": 5},
            {"nr": 231, "name": "exit_group", "count": 2}
        ]},
        "executables": [{"path": "/usr/bin/ls", "execs": 1}],
        "lost": {"exec_events": 0, "syscall_numbers": 0}
    }));
}

#[test]
fn bpf_show_summarises_a_fresh_recording() {
    if !require_bpf("bpf_show_summarises_a_fresh_recording") {
        return;
    }
    let rec = record(&["--as-root", "--", "true"]);
    rec.assert_success();
    assert_show_summarises(&rec.json);
}

/// `show` of a file it cannot use fails and names the file.
fn assert_show_fails_naming(file: &std::path::Path) {
    let output = show(file);
    assert!(
        !output.status.success(),
        "show succeeded on {}:\n{}",
        file.display(),
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let name = file.to_str().expect("UTF-8 path");
    assert!(
        stderr.contains(name),
        "stderr does not name {name}:\n{stderr}"
    );
}

#[test]
fn show_missing_file_fails_naming_it() {
    let dir = tempdir();
    assert_show_fails_naming(&dir.path().join("no-such-recording.json"));
}

#[test]
fn show_bad_json_fails_naming_the_file() {
    let dir = tempdir();
    let file = dir.path().join("broken.json");
    fs::write(&file, "{\"format\": \"leastpriv-recording\", ").expect("write broken file");
    assert_show_fails_naming(&file);
}
