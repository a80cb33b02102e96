//! Benchmark 7: generating profiles from a large recording.
//!
//! The generators read a whole recording before they write anything, so their time grows with
//! the recording; the target (under a second) is stated for a synthetic recording of a million
//! files (synthetic.rs), and a 100,000-file one is timed against a tiny one to show the growth.

use super::harness::{Attach, Bench, Config};
use super::measure::{median, path_str, Measured};
use super::report::{self, group, SummaryRow, Verdict};
use super::synthetic;
use crate::cmd::{self, step};
use anyhow::{bail, Context, Result};
use std::fs;
use std::process::{Command, Stdio};

/// Runs of each generator on the million-file recording (benchmark 7); one run is too
/// noisy on a shared machine to hold against a target.
const HUGE_RUNS: usize = 5;

impl Bench {
    /// Benchmark 7: generating a profile from a large recording.
    pub fn generate(&mut self) -> Result<()> {
        let large = synthetic::large();
        let large_path = path_str(&self.recording_path("large"));
        let small_path = path_str(&self.recording_path("small"));
        fs::write(&large_path, &large.json)
            .with_context(|| format!("cannot write {large_path}"))?;
        fs::write(&small_path, synthetic::small())
            .with_context(|| format!("cannot write {small_path}"))?;
        let out = |name: &str| path_str(&self.work.join(name));
        let generate = |kind: &str, recording: &str, output: &str| {
            self.lp(&["generate", kind, recording, "-o", output])
        };
        let mut configs = vec![
            Config::new(
                "seccomp-large",
                "`generate seccomp`, large recording",
                Attach::Nothing,
                generate("seccomp", &large_path, &out("large.seccomp.json")),
                3,
            ),
            Config::new(
                "seccomp-small",
                "`generate seccomp`, small recording",
                Attach::Nothing,
                generate("seccomp", &small_path, &out("small.seccomp.json")),
                3,
            ),
        ];
        // The files part: AppArmor is the generator that turns files into rules.
        let apparmor_small = generate("apparmor", &small_path, &out("small.apparmor"));
        let apparmor = cmd::output(Command::new(&apparmor_small[0]).args(&apparmor_small[1..]));
        match &apparmor {
            Ok(_) => {
                configs.push(Config::new(
                    "apparmor-large",
                    "`generate apparmor`, large recording",
                    Attach::Nothing,
                    generate("apparmor", &large_path, &out("large.apparmor")),
                    3,
                ));
                configs.push(Config::new(
                    "apparmor-small",
                    "`generate apparmor`, small recording",
                    Attach::Nothing,
                    apparmor_small,
                    3,
                ));
            }
            Err(err) => {
                step!("7: `generate apparmor` does not work here, timing seccomp only: {err:#}")
            }
        }
        let series = self.series("7 profile generation", &configs, self.rounds)?;
        let seccomp_out = out("large.seccomp.json");
        let profile: serde_json::Value = serde_json::from_str(
            &fs::read_to_string(&seccomp_out)
                .with_context(|| format!("generate wrote no {seccomp_out}"))?,
        )
        .with_context(|| format!("cannot parse {seccomp_out}"))?;
        let names: usize = profile["syscalls"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["names"].as_array().map_or(0, Vec::len))
            .sum();
        let peak_rss = |argv: &[String]| {
            Command::new("/usr/bin/time")
                .args(["-f", "%M"])
                .args(argv)
                .output()
                .ok()
                .and_then(|o| {
                    String::from_utf8_lossy(&o.stderr)
                        .lines()
                        .last()?
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
                .map_or_else(|| "—".into(), report::mib)
        };
        let t = series
            .get("seccomp-large")
            .map_or(f64::NAN, Measured::median);
        let apparmor_t = series.get("apparmor-large").map(Measured::median);
        // The target's size: a million files, every generator, the median of a few runs.
        let huge = self.generate_huge(apparmor.is_ok())?;
        let slowest = huge.iter().map(|(_, secs, _)| *secs).fold(0.0, f64::max);
        self.summary.push(SummaryRow::new(
            "7",
            &format!(
                "every profile from a recording of {} files (median of {HUGE_RUNS} runs)",
                group(synthetic::HUGE_FILES as u64)
            ),
            huge.iter()
                .map(|(kind, secs, _)| format!("{kind} {}", report::time(*secs)))
                .collect::<Vec<_>>()
                .join(", "),
            "< 1 s each",
            (!huge.is_empty()).then_some(slowest < 1.0),
        ));
        self.summary.push(SummaryRow {
            id: "7".into(),
            what: format!(
                "`generate seccomp` / `generate apparmor` on {} files",
                group(synthetic::FILES as u64)
            ),
            figure: match apparmor_t {
                Some(a) => format!("{} / {}", report::time(t), report::time(a)),
                None => report::time(t),
            },
            target: "—".into(),
            verdict: Verdict::Info,
        });
        let mut rows = Vec::new();
        for kind in ["seccomp", "apparmor"] {
            let (big, small) = (format!("{kind}-large"), format!("{kind}-small"));
            if let (Some(b), Some(m)) = (series.get(&big), series.get(&small)) {
                rows.push(vec![
                    format!("`generate {kind}`"),
                    report::time(b.median()),
                    report::time(m.median()),
                    report::ratio(series.ratio(&big, &small)),
                    peak_rss(
                        &configs
                            .iter()
                            .find(|c| c.key == big)
                            .map_or_else(Vec::new, |c| c.argv.clone()),
                    ),
                ]);
            }
        }
        let mut s = format!(
            "## 7. Generating a profile from a large recording\n\n\
             A synthetic recording (xtask/src/bench/synthetic.rs, {:.1} MB of JSON): every named syscall of x86_64 and ia32 \
             ({} entries), each made by about 200 of {} executables ({} provenance entries), and {} files read (one in ten \
             also written, one in a hundred executed) by those executables. The small one has 25 syscalls, 1 executable \
             and 1 file. `leastpriv generate seccomp` turns the large one into an OCI profile of {names} syscall names \
             in {}.{}\n\n\
             The target (under one second) is stated for a recording of a million files: the same recording with {} \
             files, written as compact JSON, {HUGE_RUNS} runs of each generator in turn (`/usr/bin/time -f '%e %M'`), median wall time. Result: {}, **{}**. \
             The seccomp generator parses the files with the rest of the recording and uses none of them; the AppArmor one turns each file into a rule or a \
             generalisation, and matches it against the rules of the abstractions it may include.\n\n{}\n\
             On the {} files of the large recording, against the small one:\n\n",
            large.json.len() as f64 / 1e6,
            large.syscalls,
            synthetic::EXECUTABLES,
            group(large.provenance_entries as u64),
            group(synthetic::FILES as u64),
            report::time(t),
            match (&apparmor, apparmor_t) {
                (Ok(_), Some(a)) => format!(" `generate apparmor` (the files part) on the same recording: {}.", report::time(a)),
                (Err(err), _) => format!(" The files part (`generate apparmor`) could not be measured: {err:#}."),
                _ => String::new(),
            },
            group(synthetic::HUGE_FILES as u64),
            huge.iter()
                .map(|(kind, secs, _)| format!("`generate {kind}` {}", report::time(*secs)))
                .collect::<Vec<_>>()
                .join(", "),
            if !huge.is_empty() && slowest < 1.0 { "met" } else { "MISSED" },
            report::table(
                &["generator", "wall time, a million files", "peak memory"],
                &huge
                    .iter()
                    .map(|(kind, secs, rss)| vec![format!("`generate {kind}`"), report::time(*secs), rss.clone()])
                    .collect::<Vec<_>>(),
            ),
            group(synthetic::FILES as u64),
        );
        s.push_str(&report::table(
            &[
                "generator",
                "large recording",
                "small recording",
                "ratio large / small",
                "peak memory, large",
            ],
            &rows,
        ));
        s.push('\n');
        s.push_str(&self.noise(&series));
        s.push_str("\n\n");
        s.push_str(&self.commands(&configs));
        self.sections.push((7, s));
        Ok(())
    }

    /// Benchmark 7 at the size its target names: each generator run `HUGE_RUNS` times on a
    /// recording of a million files, alternating. Returns (generator, median wall seconds,
    /// largest peak memory).
    fn generate_huge(&self, with_apparmor: bool) -> Result<Vec<(&'static str, f64, String)>> {
        step!("7 profile generation: {HUGE_RUNS} runs of each generator on a million files");
        let huge = synthetic::huge();
        let path = path_str(&self.recording_path("huge"));
        fs::write(&path, &huge.json).with_context(|| format!("cannot write {path}"))?;
        drop(huge);
        let mut kinds = vec!["seccomp"];
        if with_apparmor {
            kinds.push("apparmor");
        }
        let mut runs: Vec<(Vec<f64>, f64)> = vec![(Vec::new(), 0.0); kinds.len()];
        for _ in 0..HUGE_RUNS {
            for (kind, (secs, peak_kib)) in kinds.iter().zip(&mut runs) {
                let measured = self.work.join("huge.time");
                let output = path_str(&self.work.join(format!("huge.{kind}")));
                let status = Command::new("/usr/bin/time")
                    .args(["-f", "%e %M", "-o"])
                    .arg(&measured)
                    .args(self.lp(&["generate", kind, &path, "-o", &output]))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .context("cannot run /usr/bin/time")?;
                if !status.success() {
                    bail!("`generate {kind}` failed on the million-file recording ({status})");
                }
                let text = fs::read_to_string(&measured).unwrap_or_default();
                let mut words = text.split_whitespace();
                secs.push(
                    words
                        .next()
                        .and_then(|w| w.parse().ok())
                        .unwrap_or(f64::NAN),
                );
                let kib = words.next().and_then(|w| w.parse::<f64>().ok());
                *peak_kib = peak_kib.max(kib.unwrap_or(0.0));
            }
        }
        let _ = fs::remove_file(&path);
        Ok(kinds
            .into_iter()
            .zip(runs)
            .map(|(kind, (secs, peak_kib))| {
                let rss = if peak_kib > 0.0 {
                    report::mib(peak_kib)
                } else {
                    "—".into()
                };
                (kind, median(&secs), rss)
            })
            .collect())
    }
}
