//! Benchmark 6: file events, 100,000 distinct paths each opened once.
//!
//! The recorder walks each file call's path at syscall exit and keeps every distinct file, so
//! a file-heavy workload is where it could drop events or fall behind. The target is that no
//! recording of either mode (cgroup and end to end) misses a file or counts anything lost; the
//! time it takes is given for comparison.

use super::harness::{Attach, Bench, Config};
use super::measure::{median, path_str};
use super::recordings::FilesHeld;
use super::report::{self, group, verdict_word, SummaryRow, Verdict};
use crate::cmd::{self, step};
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::fs;
use std::process::Command;

/// Distinct files opened in benchmark 6.
pub const FILES: u64 = 100_000;

impl Bench {
    /// Benchmark 6: file events, 100,000 distinct paths each opened once.
    pub fn files(&mut self) -> Result<()> {
        let dir = self.work.join("files");
        let marker = dir.join(format!(".created-{FILES}"));
        if !marker.exists() {
            step!(
                "6 file events: creating {} files under {} (once)",
                group(FILES),
                dir.display()
            );
            cmd::run(
                Command::new(&self.files_bin)
                    .arg("create")
                    .arg(&dir)
                    .arg(FILES.to_string()),
            )?;
            fs::write(&marker, "").with_context(|| format!("cannot write {}", marker.display()))?;
        }
        let open = vec![
            path_str(&self.files_bin),
            "open".into(),
            path_str(&dir),
            FILES.to_string(),
        ];
        let job = self.in_cgroup(open.clone());
        let rec = self.recording_path("files");
        let mut e2e = self.lp(&["record", "-o", &path_str(&rec), "--"]);
        e2e.extend(open);
        let configs = [
            Config::new("none", "not recorded", Attach::Nothing, job.clone(), 1),
            Config::new(
                "floor",
                "floor (empty programs on the same hooks)",
                Attach::Floor,
                job.clone(),
                1,
            ),
            Config::new(
                "leastpriv-cgroup",
                "leastpriv recording the cgroup (hot path only)",
                Attach::Recorder,
                job,
                1,
            )
            .recording_files(self.recording_path("cgroup"), &dir),
            Config::new(
                "leastpriv",
                "`leastpriv record -- open_files` (end to end)",
                Attach::Nothing,
                e2e,
                1,
            )
            .recording_files(rec, &dir),
        ];
        self.files_held.borrow_mut().clear();
        let series = self.series("6 file events", &configs, self.rounds)?;
        // What every recording held: each mode's least complete one is reported.
        let held_all = self.files_held.borrow();
        let mut held = Vec::new();
        let mut complete = true;
        let mut recordings = 0;
        for (key, what) in [
            ("leastpriv-cgroup", "cgroup mode"),
            ("leastpriv", "end to end"),
        ] {
            let mine: Vec<&FilesHeld> = held_all
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, h)| h)
                .collect();
            recordings += mine.len();
            complete &= !mine.is_empty() && mine.iter().all(|h| h.complete(FILES));
            let Some(least) = mine.iter().min_by_key(|h| (h.complete(FILES), h.files)) else {
                held.push(format!("{what}: no recording"));
                continue;
            };
            held.push(format!(
                "{what}, {} recording{}: the least complete held {} of {} files ({:.1} MB of JSON), lost: {}",
                mine.len(),
                if mine.len() == 1 { "" } else { "s" },
                group(least.files),
                group(FILES),
                least.json_bytes as f64 / 1e6,
                if least.lost.is_empty() {
                    "nothing".into()
                } else {
                    least.lost.join(", ")
                }
            ));
        }
        drop(held_all);
        self.summary.push(SummaryRow::new(
            "6",
            &format!(
                "file events, {} distinct paths: files dropped",
                group(FILES)
            ),
            if complete {
                format!("none, in each of {recordings} recordings")
            } else {
                "some (see benchmark 6)".into()
            },
            "none dropped",
            Some(complete),
        ));
        let recorder = series.get("leastpriv-cgroup");
        let rss: Vec<f64> = recorder.map_or_else(Vec::new, |m| {
            m.samples
                .iter()
                .filter_map(|s| s.max_rss_kib)
                .map(|k| k as f64)
                .collect()
        });
        let stop: Vec<f64> = recorder.map_or_else(Vec::new, |m| {
            m.samples.iter().filter_map(|s| s.stop_secs).collect()
        });
        let over_floor = series.ratio("leastpriv-cgroup", "floor");
        let e2e_ratio = series.ratio("leastpriv", "none");
        self.summary.push(SummaryRow {
            id: "6".into(),
            what: format!("file events, {} distinct paths, time: recorded (cgroup mode) / floor; end to end / not recorded", group(FILES)),
            figure: format!("{}; {}", report::ratio(over_floor), report::ratio(e2e_ratio)),
            target: "—".into(),
            verdict: Verdict::Info,
        });
        let rows: Vec<Vec<String>> = series
            .configs
            .iter()
            .map(|m| {
                vec![
                    m.label.clone(),
                    report::time(m.median()),
                    report::ratio(series.ratio(m.key, "none")),
                    report::ratio(series.ratio(m.key, "floor")),
                    report::ns(series.extra_ns_per_call(m.key, "none", FILES)),
                ]
            })
            .collect();
        let mut s = format!(
            "## 6. File events: {} distinct paths\n\n\
             bench/open_files.c opens {} existing files, each once, read-only, in directories of 1000 (the files are \
             created once, untimed, under target/bench/files). Target: none dropped, every file in every recording of \
             both modes (cgroup mode and end to end), and no `lost` counter above zero. Result: **{}**, {}. \
             The time this costs has no target; it is given for comparison.\n\n",
            group(FILES),
            group(FILES),
            if complete { "none dropped" } else { "files dropped" },
            verdict_word(Some(complete)),
        );
        s.push_str(&report::table(
            &[
                "configuration",
                "median wall time",
                "ratio vs not recorded",
                "ratio vs floor",
                "extra per file (open + close) vs not recorded",
            ],
            &rows,
        ));
        let _ = write!(
            s,
            "\nThe recorder in cgroup mode peaked at {} (highest {}) and took {} (median) from the stop signal to its exit, \
             writing the recording. What the recordings held (each one was read after its run): {}.\n\n",
            report::mib(median(&rss)),
            report::mib(rss.iter().copied().fold(f64::NAN, f64::max)),
            report::time(median(&stop)),
            held.join("; ")
        );
        s.push_str(&self.noise(&series));
        s.push_str("\n\n");
        s.push_str(&self.commands(&configs));
        self.sections.push((6, s));
        Ok(())
    }
}
