//! Benchmarks 4 and 5: what recording costs before the first syscall of the command and
//! how much memory the recorder holds.
//!
//! Start-up (`record -- true` against `true` alone and the floor's own load-and-exit) is what
//! every short recording pays on top of its syscalls; the report breaks it down by syscall
//! and by program load, since most of it is the verifier. Peak memory is read from the
//! samples of benchmark 3, where the recorder holds a real build's state.

use super::harness::{Attach, Bench, Config};
use super::measure::{median, path_str, Measured, Series};
use super::report::{self, label, SummaryRow};
use crate::cmd;
use anyhow::Result;
use std::fmt::Write as _;
use std::fs;
use std::process::{Command, Stdio};

impl Bench {
    /// Benchmark 4.
    pub fn startup(&mut self) -> Result<()> {
        let truth = cmd::which("true").map_or_else(|| "/bin/true".into(), |p| path_str(&p));
        let rec = path_str(&self.recording_path("startup"));
        let configs = [
            Config::new(
                "true",
                "`true` alone",
                Attach::Nothing,
                vec![truth.clone()],
                3,
            ),
            Config::new(
                "floor",
                "`leastpriv bench-floor --duration 0s` (load, attach the empty programs, exit)",
                Attach::Nothing,
                self.lp(&["bench-floor", "--duration", "0s"]),
                2,
            ),
            Config::new(
                "record",
                "`leastpriv record -o REC -- true`",
                Attach::Nothing,
                self.lp(&["record", "-o", &rec, "--", &truth]),
                2,
            ),
        ];
        let series = self.series("4 start-up", &configs, self.rounds)?;
        let record = series.get("record").map_or(f64::NAN, Measured::median);
        self.summary.push(SummaryRow::new(
            "4",
            "start-up: `leastpriv record -o x.json -- true`",
            report::time(record),
            "≤ 150 ms",
            record.is_finite().then_some(record <= 0.150),
        ));
        let rows = vec![
            vec![
                label(&series, "true"),
                report::time(series.get("true").map_or(f64::NAN, Measured::median)),
                "—".into(),
                "1".into(),
            ],
            vec![
                label(&series, "floor"),
                report::time(series.get("floor").map_or(f64::NAN, Measured::median)),
                "—".into(),
                report::ratio(series.ratio("floor", "true")),
            ],
            vec![
                label(&series, "record"),
                report::time(record),
                report::ratio(series.ratio("record", "floor")),
                report::ratio(series.ratio("record", "true")),
            ],
        ];
        let mut s = String::from("## 4. Start-up\n\n");
        let _ = writeln!(s, "Target: `leastpriv record -o /tmp/x.json -- true` at most 150 ms (median wall time). Result: **{}**, {}.\n", report::time(record), if record <= 0.150 { "met" } else { "MISSED" });
        s.push_str(&report::table(
            &[
                "configuration",
                "median wall time",
                "ratio vs floor start-up",
                "ratio vs `true`",
            ],
            &rows,
        ));
        s.push('\n');
        s.push_str(&self.noise(&series));
        s.push_str("\n\n");
        s.push_str(&self.commands(&configs));
        // Where start-up goes: wall time inside each syscall (bpf is where the verifier runs).
        let trace = self.work.join("startup.strace.txt");
        let traced = Command::new("strace")
            .args(["-f", "-c", "-w", "-o"])
            .arg(&trace)
            .args(self.lp(&["record", "-o", &rec, "--", &truth]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if traced.is_ok_and(|s| s.success()) {
            let text = fs::read_to_string(&trace).unwrap_or_default();
            let top: Vec<&str> = text.lines().take(9).collect();
            let _ = write!(
                s,
                "\nWhere start-up goes: wall time spent inside syscalls during one `record -- true` under \
                 `strace -f -c -w` (strace slows the rest; `bpf` holds program loading and the verifier):\n\n```\n{}\n```\n",
                top.join("\n")
            );
        }
        s.push_str(&self.program_loads(&rec, &truth));
        self.sections.push((4, s));
        Ok(())
    }

    /// How long the kernel took to load (verify) each program during one `record -- true`,
    /// from `strace -T -e trace=bpf`.
    fn program_loads(&self, rec: &str, truth: &str) -> String {
        // One file per thread (`-ff`): the programs load on threads of their own, and in one
        // file their calls would be split into "unfinished" and "resumed" halves.
        let prefix = "startup.bpf.strace";
        let is_trace =
            |entry: &fs::DirEntry| entry.file_name().to_string_lossy().starts_with(prefix);
        for old in fs::read_dir(&self.work)
            .into_iter()
            .flatten()
            .flatten()
            .filter(is_trace)
        {
            let _ = fs::remove_file(old.path());
        }
        let traced = Command::new("strace")
            .args(["-ff", "-T", "-e", "trace=bpf", "-o"])
            .arg(self.work.join(prefix))
            .args(self.lp(&["record", "-o", rec, "--", truth]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !traced.is_ok_and(|s| s.success()) {
            return String::new();
        }
        let text: String = fs::read_dir(&self.work)
            .into_iter()
            .flatten()
            .flatten()
            .filter(is_trace)
            .filter_map(|entry| fs::read_to_string(entry.path()).ok())
            .collect::<Vec<_>>()
            .join("\n");
        let field = |line: &str, name: &str| -> Option<String> {
            let rest = &line[line.find(name)? + name.len()..];
            let end = rest.find([',', '}', ' ']).unwrap_or(rest.len());
            Some(rest[..end].trim_matches('"').to_owned())
        };
        let mut rows = Vec::new();
        let mut total = 0.0;
        for line in text.lines().filter(|l| l.contains("BPF_PROG_LOAD")) {
            let secs: f64 = line
                .rsplit_once('<')
                .and_then(|(_, t)| t.trim_end_matches('>').parse().ok())
                .unwrap_or(f64::NAN);
            let insns: u64 = field(line, "insn_cnt=")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            if insns <= 8 || !secs.is_finite() {
                continue; // aya's feature probes
            }
            total += secs;
            rows.push(vec![
                field(line, "prog_name=").unwrap_or_default(),
                field(line, "prog_type=")
                    .unwrap_or_default()
                    .trim_start_matches("BPF_PROG_TYPE_")
                    .to_lowercase(),
                insns.to_string(),
                report::time(secs),
            ]);
        }
        if rows.is_empty() {
            return String::new();
        }
        format!(
            "\nLoading each program (`BPF_PROG_LOAD`, where the verifier runs; `strace -ff -T -e trace=bpf`, one run; \
             {} in all, on one thread per program; names are cut to 15 characters by the kernel):\n\n{}",
            report::time(total),
            report::table(&["program", "type", "instructions", "load time"], &rows)
        )
    }

    /// Benchmark 5, from the samples of benchmark 3 (and 1).
    pub fn memory(&mut self, realistic: &Series) {
        let rss = |series: Option<&Series>, key: &str| -> Vec<f64> {
            series
                .and_then(|s| s.get(key))
                .map(|m| {
                    m.samples
                        .iter()
                        .filter_map(|s| s.max_rss_kib)
                        .map(|k| k as f64)
                        .collect()
                })
                .unwrap_or_default()
        };
        let recorder = rss(Some(realistic), "leastpriv-cgroup");
        let floor = rss(Some(realistic), "floor");
        let recorder_loop = rss(self.in_cgroup.as_ref(), "leastpriv");
        let peak = recorder.iter().copied().fold(f64::NAN, f64::max);
        self.summary.push(SummaryRow::new(
            "5",
            "peak memory (max RSS) of the recorder during benchmark 3",
            report::mib(peak),
            "≤ 32 MiB",
            peak.is_finite().then_some(peak <= 32.0 * 1024.0),
        ));
        let row = |what: &str, v: &[f64]| {
            vec![
                what.to_owned(),
                report::mib(median(v)),
                report::mib(v.iter().copied().fold(f64::NAN, f64::max)),
                v.len().to_string(),
            ]
        };
        let rows = vec![
            row(
                "leastpriv recording the build (benchmark 3, cgroup mode)",
                &recorder,
            ),
            row(
                "leastpriv recording the getppid loop (benchmark 1)",
                &recorder_loop,
            ),
            row(
                "`leastpriv bench-floor` (same binary and object, empty programs only)",
                &floor,
            ),
        ];
        let mut s = format!(
            "## 5. Peak memory\n\n\
             Max RSS of the recorder process (`/usr/bin/time -f %M` around `leastpriv record --cgroup CG`, so the \
             workload's own memory is not counted) in the samples of benchmark 3. Target: at most 32 MiB. \
             Result: **{}** at the highest, {}; {} the floor process's.\n\n",
            report::mib(peak),
            if peak <= 32.0 * 1024.0 { "met" } else { "MISSED" },
            {
                let r = median(&recorder) / median(&floor);
                if r.is_finite() { format!("{r:.2} ×") } else { "— ×".into() }
            }
        );
        s.push_str(&report::table(
            &["process", "median max RSS", "highest max RSS", "samples"],
            &rows,
        ));
        self.sections.push((5, s));
    }
}
