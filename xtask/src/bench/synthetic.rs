//! Synthetic recordings for benchmark 7 (profile generation): a large one, every syscall
//! number of x86_64 and ia32 with provenance from 1000 executables and 100,000 files, and a
//! small one to compare. Deterministic: the same files on every run. The format is
//! docs/recording-format.md.

use serde_json::{json, Value};

/// Executables in the large recording.
pub const EXECUTABLES: usize = 1000;
/// Each executable makes one syscall in this many (spread differently per executable).
const ONE_IN: usize = 5;
/// Files in the large recording.
pub const FILES: usize = 100_000;
/// Files in the huge recording: the size the target of benchmark 7 is stated for.
pub const HUGE_FILES: usize = 1_000_000;

fn names_x86_64() -> Vec<(usize, &'static str)> {
    let last = syscalls::x86_64::Sysno::last().id() as usize;
    (0..=last)
        .filter_map(|nr| syscalls::x86_64::Sysno::new(nr).map(|s| (nr, s.name())))
        .collect()
}

fn names_ia32() -> Vec<(usize, &'static str)> {
    let last = syscalls::x86::Sysno::last().id() as usize;
    (0..=last)
        .filter_map(|nr| syscalls::x86::Sysno::new(nr).map(|s| (nr, s.name())))
        .collect()
}

fn exe_path(i: usize) -> String {
    format!("/opt/bench/tools/libexec/program-{i:04}")
}

fn recording(syscalls: Value, executables: Vec<Value>, files: Vec<Value>) -> Value {
    json!({
        "format": "leastpriv-recording",
        "version": 1,
        "tool": { "name": "leastpriv", "version": "bench" },
        "host": { "kernel": "bench", "arch": "x86_64" },
        "target": { "command": ["/opt/bench/run-everything"] },
        "started_at": "2026-01-01T00:00:00Z",
        "finished_at": "2026-01-01T01:00:00Z",
        "complete": true,
        "exit_status": 0,
        "syscalls": syscalls,
        "executables": executables,
        "files": files,
        "lost": { "exec_events": 0, "syscall_numbers": 0, "provenance": 0 },
    })
}

/// What the large recording holds, for the report.
pub struct Large {
    pub json: String,
    pub syscalls: usize,
    pub provenance_entries: usize,
}

/// File `i` of the large recording: 100 trees of 1000 files, read by one of the executables;
/// one in ten is also written, one in a hundred executed.
fn file(i: usize, paths: &[String]) -> Value {
    let mut access = vec!["read"];
    if i.is_multiple_of(10) {
        access.push("write");
    }
    if i.is_multiple_of(100) {
        access.insert(0, "exec");
    }
    json!({
        "path": format!("/srv/bench/data-{:03}/item-{i:06}", i / 1000),
        "access": access,
        "by": [paths[i % paths.len()]],
    })
}

/// Every named syscall of both ABIs; executable `i` made syscall `nr` when
/// `(i + 7 * nr) % 5 == 0`, so each syscall lists about 200 executables and each executable
/// about one syscall in five; and 100,000 files.
pub fn large() -> Large {
    with_files(FILES, true)
}

/// The large recording with a million files, as compact JSON (about 120 MB).
pub fn huge() -> Large {
    with_files(HUGE_FILES, false)
}

fn with_files(files: usize, pretty: bool) -> Large {
    let paths: Vec<String> = (0..EXECUTABLES).map(exe_path).collect();
    let mut provenance_entries = 0;
    let mut syscalls = serde_json::Map::new();
    let mut count = 0;
    for (abi, table) in [("x86_64", names_x86_64()), ("ia32", names_ia32())] {
        let entries: Vec<Value> = table
            .iter()
            .map(|&(nr, name)| {
                let by: Vec<&String> = paths
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| (i + 7 * nr) % ONE_IN == 0)
                    .map(|(_, p)| p)
                    .collect();
                provenance_entries += by.len();
                json!({ "nr": nr, "name": name, "count": 1000 + nr, "by": by })
            })
            .collect();
        count += entries.len();
        syscalls.insert(abi.to_owned(), Value::Array(entries));
    }
    let executables = paths
        .iter()
        .map(|p| json!({ "path": p, "execs": 1 }))
        .collect();
    let files = (0..files).map(|i| file(i, &paths)).collect();
    let recording = recording(Value::Object(syscalls), executables, files);
    let mut text = if pretty {
        serde_json::to_string_pretty(&recording)
    } else {
        serde_json::to_string(&recording)
    }
    .expect("a JSON value serialises");
    text.push('\n');
    Large {
        json: text,
        syscalls: count,
        provenance_entries,
    }
}

/// A recording the size of a small command's: 25 x86_64 syscalls by one executable.
pub fn small() -> String {
    let entries: Vec<Value> = names_x86_64()
        .into_iter()
        .take(25)
        .map(|(nr, name)| json!({ "nr": nr, "name": name, "count": 3, "by": ["/usr/bin/true"] }))
        .collect();
    let mut text = serde_json::to_string_pretty(&recording(
        json!({ "x86_64": entries }),
        vec![json!({ "path": "/usr/bin/true", "execs": 1 })],
        vec![json!({ "path": "/etc/ld.so.cache", "access": ["read"], "by": ["/usr/bin/true"] })],
    ))
    .expect("a JSON value serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_recording_covers_both_tables() {
        let large = large();
        assert!(large.syscalls > 2 * 300, "{}", large.syscalls);
        // About one in five of 1000 executables per syscall.
        let per_syscall = large.provenance_entries / large.syscalls;
        assert!((190..=210).contains(&per_syscall), "{per_syscall}");
        let v: Value = serde_json::from_str(&large.json).unwrap();
        assert_eq!(v["executables"].as_array().unwrap().len(), EXECUTABLES);
        assert_eq!(v["syscalls"]["x86_64"][0]["name"], "read");
        assert_eq!(v["syscalls"]["ia32"][1]["name"], "exit");
        assert_eq!(v["files"].as_array().unwrap().len(), FILES);
        assert_eq!(v["files"][100]["access"], json!(["exec", "read", "write"]));
    }
}
