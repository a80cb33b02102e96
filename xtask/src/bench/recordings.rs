//! Reading back what a recording held: how many files and calls it saw, for the checks a
//! benchmark makes after its samples (benchmark 1 counts the loop's getppid calls, benchmark 6
//! every file) and for the few words on each workload in the report.

use super::report::group;
use anyhow::{Context, Result};
use std::fs;
use std::path::Path;

/// What one recording of benchmark 6 holds.
pub struct FilesHeld {
    /// Files recorded under the benchmark's directory.
    pub files: u64,
    pub json_bytes: usize,
    /// The recording's nonzero `lost` counters, as "name count".
    pub lost: Vec<String>,
}

impl FilesHeld {
    pub fn read(recording: &Path, prefix: &str) -> Result<FilesHeld> {
        let text = fs::read_to_string(recording)
            .with_context(|| format!("the recorder wrote no {}", recording.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("cannot parse {}", recording.display()))?;
        let files = v["files"].as_array().map_or(0, |f| {
            f.iter()
                .filter(|e| e["path"].as_str().is_some_and(|p| p.starts_with(prefix)))
                .count()
        });
        let lost = v["lost"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, n)| n.as_u64().unwrap_or(0) > 0)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        Ok(FilesHeld {
            files: files as u64,
            json_bytes: text.len(),
            lost,
        })
    }

    /// Whether it holds all `files` files and lost nothing.
    pub fn complete(&self, files: u64) -> bool {
        self.files >= files && self.lost.is_empty()
    }
}

/// What a recording saw, in a few words: execs, syscalls, files.
pub fn recorded_size(path: &Path) -> String {
    let Ok(v) = fs::read_to_string(path)
        .map_err(anyhow::Error::from)
        .and_then(|t| Ok(serde_json::from_str::<serde_json::Value>(&t)?))
    else {
        return format!("{} could not be read", path.display());
    };
    let execs: u64 = v["executables"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["execs"].as_u64())
        .sum();
    let syscalls: u64 = v["syscalls"]
        .as_object()
        .into_iter()
        .flatten()
        .flat_map(|(_, list)| list.as_array().into_iter().flatten())
        .filter_map(|e| e["count"].as_u64())
        .sum();
    let files = v["files"].as_array().map_or(0, Vec::len);
    format!(
        "{} execs, {} syscalls, {} distinct files",
        group(execs),
        group(syscalls),
        group(files as u64)
    )
}

/// How many getppid calls (x86_64 nr 110) a recording counted.
pub fn recorded_getppid(path: &Path) -> Result<u64> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("the recorder wrote no {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("cannot parse {}", path.display()))?;
    Ok(v["syscalls"]["x86_64"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["nr"] == 110)
        .and_then(|e| e["count"].as_u64())
        .unwrap_or(0))
}
