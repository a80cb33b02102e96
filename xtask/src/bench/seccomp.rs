//! Benchmarks 9 and 9b: the cost of enforcing a generated seccomp profile.
//!
//! Recording is one half of what leastpriv is for; the other is running a command under the
//! profile made from it. Benchmark 9 times the getppid loop under its own profile (and under a
//! filter with no rules, to separate seccomp's own cost from the profile's); 9b a socket loop
//! whose profile checks `socket`'s arguments, which the kernel's per-syscall cache cannot serve.

use super::harness::{Attach, Bench, Config, LOOP_CALLS};
use super::measure::{path_str, Spread};
use super::report::{self, precision, verdict, SummaryRow, Verdict};
use crate::cmd::{self, step};
use anyhow::{Context, Result};
use std::fs;
use std::process::Command;

impl Bench {
    /// Benchmark 9: the loop under a seccomp profile generated from recording it.
    pub fn seccomp(&mut self) -> Result<()> {
        let rec = path_str(&self.recording_path("loop"));
        let profile = path_str(&self.work.join("loop.seccomp.json"));
        step!("9 seccomp: recording the loop and generating its profile");
        let mut record = self.lp(&["record", "-o", &rec, "--"]);
        record.extend(self.getppid_loop(1000));
        cmd::output(Command::new(&record[0]).args(&record[1..]))?;
        let generate = self.lp(&["generate", "seccomp", &rec, "-o", &profile]);
        cmd::output(Command::new(&generate[0]).args(&generate[1..]))?;
        // A filter that allows everything: what any seccomp filter costs, whatever its rules.
        let allow_all = path_str(&self.work.join("allow-all.seccomp.json"));
        fs::write(&allow_all, "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_X86_64\"], \"syscalls\": []}\n")
            .with_context(|| format!("cannot write {allow_all}"))?;
        let confined = |profile: &str, calls: u64| {
            let mut argv = self.lp(&["run", "--seccomp", profile, "--"]);
            argv.extend(self.getppid_loop(calls));
            argv
        };
        let configs = [
            Config::new(
                "none",
                "no filter",
                Attach::Nothing,
                self.getppid_loop(LOOP_CALLS),
                2,
            ),
            Config::new(
                "seccomp",
                "`leastpriv run --seccomp PROFILE`",
                Attach::Nothing,
                confined(&profile, LOOP_CALLS),
                2,
            ),
            Config::new(
                "allow-all",
                "`leastpriv run --seccomp ALLOW-ALL` (a filter with no rules)",
                Attach::Nothing,
                confined(&allow_all, LOOP_CALLS),
                2,
            ),
            Config::new(
                "none-1",
                "no filter, 1 call",
                Attach::Nothing,
                self.getppid_loop(1),
                3,
            ),
            Config::new(
                "seccomp-1",
                "`leastpriv run --seccomp PROFILE`, 1 call",
                Attach::Nothing,
                confined(&profile, 1),
                3,
            ),
        ];
        let series = self.series("9 seccomp", &configs, self.rounds)?;
        let ratio = series.ratio("seccomp", "none");
        self.summary.push(SummaryRow::new(
            "9",
            "getppid loop under `leastpriv run --seccomp`: filtered / not",
            report::ratio_against(ratio, 1.05),
            "≤ 1.05",
            ratio.map(|r| r.median <= 1.05),
        ));
        // Per round: the filter's cost per call, without `leastpriv run`'s fixed start-up.
        let per_call: Vec<f64> = match (
            series.get("none"),
            series.get("seccomp"),
            series.get("none-1"),
            series.get("seccomp-1"),
        ) {
            (Some(n), Some(s), Some(n1), Some(s1)) => (0..n.samples.len())
                .map(|r| {
                    let (n, s, n1, s1) = (
                        n.samples[r].median(),
                        s.samples[r].median(),
                        n1.samples[r].median(),
                        s1.samples[r].median(),
                    );
                    ((s - s1) - (n - n1)) / (LOOP_CALLS - 1) as f64 * 1e9
                })
                .collect(),
            _ => Vec::new(),
        };
        let rows: Vec<Vec<String>> = series
            .configs
            .iter()
            .map(|m| {
                let base = if m.key.ends_with("-1") {
                    "none-1"
                } else {
                    "none"
                };
                vec![
                    m.label.clone(),
                    report::time(m.median()),
                    report::ratio(series.ratio(m.key, base)),
                    if m.key.ends_with("-1") {
                        "—".into()
                    } else {
                        report::ns(series.extra_ns_per_call(m.key, base, LOOP_CALLS))
                    },
                ]
            })
            .collect();
        let mut s = format!(
            "## 9. The loop under a generated seccomp profile\n\n\
             The profile is generated from a recording of the loop itself (`leastpriv record -- getppid_loop 1000`, then \
             `leastpriv generate seccomp`). Target: at most 1.05 × no filter. Result: **{}**, {}.{} \
             The 1-call rows measure `leastpriv run`'s own start-up (reading and compiling the profile), which the 2M-call \
             ratio includes; without it the filter costs {} per call. A filter with no rules at all costs {} per call: \
             any seccomp filter puts the task on the kernel's slower syscall path (as a tracepoint program does), \
             whatever the profile says.\n\n",
            report::ratio_against(ratio, 1.05),
            verdict(ratio, 1.05),
            precision(series.ratio_interval("seccomp", "none"), 1.05),
            report::ns(Some(Spread::of(&per_call))),
            report::ns(series.extra_ns_per_call("allow-all", "none", LOOP_CALLS)),
        );
        s.push_str(&report::table(
            &[
                "configuration",
                "median wall time",
                "ratio vs no filter (same calls)",
                "extra per call",
            ],
            &rows,
        ));
        s.push('\n');
        s.push_str(&self.noise(&series));
        s.push_str("\n\n");
        s.push_str(&self.commands(&configs));
        self.sections.push((9, s));
        Ok(())
    }

    /// Benchmark 9b: a socket-heavy loop under the argument-aware profile generated from it
    /// (socket checked by family, type and protocol), against no filter and against the same
    /// profile without argument conditions.
    pub fn seccomp_sockets(&mut self) -> Result<()> {
        const CALLS: u64 = 200_000;
        let socket_loop = |n: u64| vec![path_str(&self.socket_bin), n.to_string()];
        let rec = path_str(&self.recording_path("sockets"));
        let narrowed = path_str(&self.work.join("sockets.seccomp.json"));
        let plain = path_str(&self.work.join("sockets.no-args.seccomp.json"));
        step!("9b seccomp: recording the socket loop and generating its profiles");
        let mut record = self.lp(&["record", "-o", &rec, "--"]);
        record.extend(socket_loop(100));
        cmd::output(Command::new(&record[0]).args(&record[1..]))?;
        for (out, extra) in [(&narrowed, None), (&plain, Some("--no-args"))] {
            let mut generate = self.lp(&["generate", "seccomp", &rec, "-o", out]);
            generate.extend(extra.map(str::to_owned));
            cmd::output(Command::new(&generate[0]).args(&generate[1..]))?;
        }
        let confined = |profile: &str| {
            let mut argv = self.lp(&["run", "--seccomp", profile, "--"]);
            argv.extend(socket_loop(CALLS));
            argv
        };
        let configs = [
            Config::new("none", "no filter", Attach::Nothing, socket_loop(CALLS), 2),
            Config::new(
                "args",
                "`leastpriv run --seccomp PROFILE` (socket checked by value)",
                Attach::Nothing,
                confined(&narrowed),
                2,
            ),
            Config::new(
                "plain",
                "`leastpriv run --seccomp PROFILE` generated with `--no-args`",
                Attach::Nothing,
                confined(&plain),
                2,
            ),
        ];
        let series = self.series("9b seccomp sockets", &configs, self.rounds)?;
        let ratio = series.ratio("args", "none");
        let against_plain = series.ratio("args", "plain");
        self.summary.push(SummaryRow {
            id: "9b".into(),
            what:
                "socket loop under its argument-aware profile: filtered / not; / without conditions"
                    .into(),
            figure: format!("{}; {}", report::ratio(ratio), report::ratio(against_plain)),
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
                    report::ns(series.extra_ns_per_call(m.key, "none", CALLS)),
                ]
            })
            .collect();
        let mut s = format!(
            "## 9b. A socket-heavy loop under its argument-aware profile\n\n\
             bench/socket_loop.c creates and closes an inet stream and a unix datagram socket {CALLS} times. Its profile, \
             generated from a recording of it, allows `socket` only for those two (family, type, protocol) sets, so every \
             `socket` call runs the filter's argument checks instead of the kernel's per-syscall cache. Result: \
             **{}** against no filter, **{}** against the same profile without argument conditions.\n\n",
            report::ratio(ratio),
            report::ratio(against_plain),
        );
        s.push_str(&report::table(
            &[
                "configuration",
                "median wall time",
                "ratio vs no filter",
                "extra per iteration",
            ],
            &rows,
        ));
        s.push('\n');
        s.push_str(&self.noise(&series));
        s.push_str("\n\n");
        s.push_str(&self.commands(&configs));
        self.sections.push((9, s));
        Ok(())
    }
}
