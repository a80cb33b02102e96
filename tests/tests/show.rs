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

/// Runs `leastpriv show --format FORMAT FILE` and returns its standard output.
fn show_as(format: &str, file: &std::path::Path) -> String {
    let mut cmd = leastpriv();
    cmd.args(["show", "--format", format]).arg(file);
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8(output.stdout).expect("show prints UTF-8")
}

/// How `show` writes a recorded name in text: escaped as Rust's debug format does, quotes
/// left alone.
fn escaped(text: &str) -> String {
    text.escape_debug()
        .to_string()
        .replace("\\\"", "\"")
        .replace("\\'", "'")
}

/// Checks that the JSON of `show` parses, serialises back to the same bytes, and holds the
/// facts the text prints (each looked for in the text, so a fact only one of them has fails).
fn assert_json_holds_the_text(file: &std::path::Path) {
    let json_text = show_as("json", file);
    let json: Value = serde_json::from_str(&json_text)
        .unwrap_or_else(|e| panic!("show --format json is not JSON: {e}\n{json_text}"));
    let again: Value = serde_json::from_str(&serde_json::to_string(&json).unwrap()).unwrap();
    assert_eq!(again, json, "the JSON does not round-trip");
    assert_eq!(
        json_text,
        show_as("json", file),
        "the JSON is not deterministic"
    );
    assert_eq!(json["format"], "leastpriv-summary");
    assert_eq!(json["version"], 1);
    let text = show_as("text", file);
    assert_eq!(text, show_as("text", file), "text is not deterministic");
    assert_eq!(
        text,
        {
            let mut cmd = leastpriv();
            cmd.arg("show").arg(file);
            String::from_utf8(run(cmd).stdout).unwrap()
        },
        "--format text is not the default"
    );
    holds(&json, &text, "");
}

fn holds(json: &Value, text: &str, within: &str) {
    let say = |what: &str| format!("{within}{what}");
    let syscalls = &json["syscalls"];
    let line = format!(
        "syscalls: {} distinct, {} calls",
        syscalls["distinct"], syscalls["calls"]
    );
    assert!(
        text.contains(&line),
        "{}: text lacks {line:?}:\n{text}",
        say("syscalls")
    );
    for (abi, names) in syscalls["by_abi"].as_object().expect("by_abi is an object") {
        let names: Vec<&str> = names
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        assert!(text.contains(&format!("  {abi} ({}):", names.len())));
        let words: std::collections::BTreeSet<&str> = text.split_whitespace().collect();
        for name in names {
            assert!(
                words.contains(name),
                "{}: text lacks {abi} {name}",
                say("syscalls")
            );
        }
    }
    let executables = json["executables"].as_array().unwrap();
    assert!(text.contains(&format!("executables: {}\n", executables.len())));
    for exe in executables {
        let path = escaped(exe["path"].as_str().unwrap());
        assert!(
            text.contains(&path),
            "{}: text lacks {path}",
            say("executables")
        );
    }
    if let Some(files) = json["files"].as_u64() {
        assert!(
            text.contains(&format!("files: {files} distinct paths")),
            "{}",
            say("files")
        );
    }
    match json["capabilities"].as_array() {
        None => assert!(text.contains("capability checks: not recorded")),
        Some(checks) => {
            assert!(text.contains(&format!("capability checks: {}\n", checks.len())));
            for check in checks {
                let line = format!(
                    "  {} {}: {} times",
                    check["capability"].as_str().unwrap(),
                    match check["verdict"].as_str().unwrap() {
                        "needed" => "granted: NEEDED",
                        "granted_audit_unknown" => "granted, audit unknown (counted as a need)",
                        "probe" => "probe (noaudit), not a need",
                        "denied" => "denied, not a need",
                        other => panic!("unknown verdict {other}"),
                    },
                    check["count"]
                );
                assert!(
                    text.contains(&line),
                    "{}: text lacks {line:?}",
                    say("capabilities")
                );
            }
        }
    }
    let lost_word = if json["lost"]["nothing"] == true {
        "lost: "
    } else {
        "LOST: "
    };
    assert!(text.contains(lost_word), "{}", say("lost"));
    assert_eq!(
        json["exit_status"]
            .as_i64()
            .map(|s| format!("exit status {s}\n"))
            .is_some_and(|l| text.contains(&l)),
        !json["exit_status"].is_null(),
        "{}",
        say("exit status")
    );
    assert_eq!(
        text.contains("INCOMPLETE: "),
        !json["incomplete_reason"].is_null(),
        "{}",
        say("incomplete")
    );
    for container in json["containers"].as_array().unwrap() {
        let label = escaped(container["label"].as_str().unwrap());
        assert!(
            text.contains(&format!("container {label} (id ")),
            "{}",
            say("containers")
        );
        holds(&container["summary"], text, &format!("container {label}: "));
    }
}

#[test]
fn show_json_round_trips_and_holds_what_text_shows() {
    let fixtures = leastpriv_tests::workspace_dir().join("tests/fixtures");
    let mut seen = 0;
    for entry in fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".recording.json") {
            assert_json_holds_the_text(&path);
            seen += 1;
        }
    }
    assert!(
        seen >= 5,
        "only {seen} fixtures found in {}",
        fixtures.display()
    );
}

#[test]
fn show_json_keeps_hostile_names_as_data() {
    let file = leastpriv_tests::workspace_dir().join("tests/fixtures/hostile.recording.json");
    let json: Value = serde_json::from_str(&show_as("json", &file)).unwrap();
    let recording: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    // The names come back exactly as recorded, control characters and all.
    let paths = |v: &Value| -> Vec<String> {
        v["executables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(paths(&json), paths(&recording));
    assert!(paths(&json).iter().any(|p| p.chars().any(char::is_control)));
}

#[test]
fn show_markdown_tables_cannot_be_broken_by_names() {
    for fixture in ["hostile", "apparmor-hostile", "bind_and_chown"] {
        let file = leastpriv_tests::workspace_dir()
            .join(format!("tests/fixtures/{fixture}.recording.json"));
        let md = show_as("markdown", &file);
        assert!(md.starts_with("### leastpriv: recording of `"), "{md}");
        assert!(
            !md.chars().any(|c| c.is_control() && c != '\n'),
            "{fixture}: a control character reached the markdown:\n{md}"
        );
        // Every table row has as many cells as its header: no name opened a cell.
        let mut cells = None;
        for line in md.lines() {
            if !line.starts_with('|') {
                cells = None;
                continue;
            }
            let n = line.matches('|').count();
            let expected = *cells.get_or_insert(n);
            assert_eq!(
                n, expected,
                "{fixture}: a row has a different cell count: {line}"
            );
            // Outside code spans, nothing but our own words: every backtick is paired.
            assert_eq!(
                line.matches('`').count() % 2,
                0,
                "{fixture}: odd backticks: {line}"
            );
        }
        // Every executable is in the table.
        let recording: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        let rows = md
            .lines()
            .filter(|l| l.starts_with("| `") && l.ends_with(" |"))
            .count();
        assert!(
            rows >= recording["executables"].as_array().unwrap().len(),
            "{md}"
        );
    }
    // Negative control: an unknown format is bad input.
    let mut cmd = leastpriv();
    cmd.args(["show", "--format", "yaml", "x.json"]);
    let output = run(cmd);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

#[test]
fn bpf_show_json_of_a_fresh_recording() {
    if !require_bpf("bpf_show_json_of_a_fresh_recording") {
        return;
    }
    let rec = record(&["--as-root", "--", "sh", "-c", "ls / >/dev/null"]);
    rec.assert_success();
    let dir = tempdir();
    let file = dir.path().join("recording.json");
    fs::write(&file, serde_json::to_string(&rec.json).unwrap()).unwrap();
    assert_json_holds_the_text(&file);
    let json: Value = serde_json::from_str(&show_as("json", &file)).unwrap();
    assert!(json["executables"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["path"].as_str().unwrap().ends_with("/ls")));
    assert!(json["files"].as_u64().unwrap() > 0, "{json:#}");
}
