//! Where the time goes: the kernel's run-time statistics of each program on the syscall hooks
//! (`BPF_ENABLE_STATS`), for the floor, the recorder and bpftrace.
//!
//! Wall time says what a workload pays in all; these statistics say which program it pays
//! for, so that the recorder's own cost above the floor's can be told from the slower syscall
//! path that any program on these hooks brings. They are on only during this part, since the
//! accounting itself adds to every run.

use super::harness::{Attach, Bench, LOOP_CALLS};
use super::loops::HOT_LOOP_CALLS;
use super::measure::{median, Series};
use super::procs::{self, Background, BpfStats, Hook};
use super::report::{self, SummaryRow, Verdict};
use crate::cmd::{self, step};
use anyhow::{bail, Result};
use std::fmt::Write as _;
use std::process::Command;

impl Bench {
    /// Where the time goes: the kernel's run-time statistics of each program on the syscall
    /// hooks, for the floor, the recorder and bpftrace.
    pub fn program_costs(&mut self) -> Result<()> {
        step!("program costs: BPF run-time statistics on for the next few seconds");
        let stats = BpfStats::enable()?;
        let in_cg = self.in_cgroup(self.getppid_loop(LOOP_CALLS));
        let outside = self.getppid_loop(LOOP_CALLS);
        let build = self.in_cgroup(self.workload.clone());
        let build_argv = build.clone();
        let mut cases: Vec<(&str, &str, Attach, Vec<String>, u64)> = vec![
            (
                "floor",
                "getppid loop",
                Attach::Floor,
                in_cg.clone(),
                LOOP_CALLS,
            ),
            (
                "leastpriv",
                "getppid loop in the recorded cgroup",
                Attach::Recorder,
                in_cg.clone(),
                LOOP_CALLS,
            ),
            (
                "leastpriv",
                "getppid loop outside it (recording `sleep`)",
                Attach::RecorderElsewhere,
                outside.clone(),
                LOOP_CALLS,
            ),
            (
                "leastpriv",
                "the C build of benchmark 3, in the recorded cgroup",
                Attach::Recorder,
                build,
                0,
            ),
        ];
        if self.tools.bpftrace.is_ok() {
            cases.push((
                "bpftrace one-liner",
                "getppid loop in its cgroup",
                Attach::Bpftrace,
                in_cg,
                LOOP_CALLS,
            ));
            cases.push((
                "bpftrace one-liner",
                "getppid loop outside its cgroup",
                Attach::Bpftrace,
                outside,
                LOOP_CALLS,
            ));
        }
        let mut measured = Vec::new();
        for (holder, load, attach, argv, calls) in &cases {
            step!("program costs: {holder}, {load}");
            measured.push(self.program_cost(*attach, argv, *calls)?);
        }
        step!("program costs: every recorder program, per C build");
        let per_build = self.recorder_cost_per_run(&build_argv)?;
        drop(stats);
        // Per syscall: every program of the holder runs once per syscall (entry or exit).
        let total = |i: usize| -> f64 {
            measured.get(i).map_or(f64::NAN, |c: &Vec<ProgCost>| {
                c.iter().map(|p| p.ns_per_run).sum()
            })
        };
        let mut rows = Vec::new();
        for ((holder, load, ..), programs) in cases.iter().zip(&measured) {
            for p in programs {
                rows.push(vec![
                    (*holder).to_owned(),
                    format!("{} `{}`", p.kind, p.tracepoint),
                    (*load).to_owned(),
                    if p.ns_per_run.is_finite() {
                        format!("{:.1} ns", p.ns_per_run)
                    } else {
                        "— (did not run)".into()
                    },
                    if p.runs_per_call.is_finite() {
                        format!("{:.3}", p.runs_per_call)
                    } else {
                        "—".into()
                    },
                    format!("{} / {}", p.bytes_xlated, p.bytes_jited),
                ]);
            }
        }
        let wall = |series: &Option<Series>| {
            report::ns(
                series
                    .as_ref()
                    .and_then(|s| s.extra_ns_per_call("leastpriv", "floor", HOT_LOOP_CALLS)),
            )
        };
        let (floor, inside, elsewhere, build) = (total(0), total(1), total(2), total(3));
        let mut s = String::from(
            "## Where the time goes: run time of the programs on the syscall hooks\n\n\
             With BPF run-time statistics on (`BPF_ENABLE_STATS`, only during this part), the kernel accounts each program's \
             run time (`bpftool prog show`: run_time_ns / run_cnt). Each row is the median of 3 runs of the workload, from \
             the counters' difference across each run. The accounting itself (two clock reads per run) is included in every \
             row alike, so the empty floor programs show its size; **differences between rows are the programs' own cost**. \
             What this cannot show is the floor's own cost over nothing attached (benchmark 1): the kernel's slower syscall \
             path, which any program on these hooks brings.\n\n",
        );
        s.push_str(&report::table(
            &[
                "holder",
                "program",
                "syscalls from",
                "ns per run",
                "runs per loop call",
                "xlated / jited bytes",
            ],
            &rows,
        ));
        let _ = write!(
            s,
            "\nPer syscall, all of a holder's programs together: floor {floor:.1} ns; leastpriv {inside:.1} ns in the recorded \
             cgroup ({build:.1} ns during the C build), {elsewhere:.1} ns for everyone else. \
             **The recorder's own cost above the floor: {:+.1} ns per syscall in the recorded cgroup, {:+.1} ns per syscall \
             everywhere else**; for comparison, the wall-time differences per call between leastpriv and the floor were {} \
             (benchmark 1) and {} (benchmark 2).\n",
            inside - floor,
            elsewhere - floor,
            wall(&self.in_cgroup),
            wall(&self.outside),
        );
        let build_rows: Vec<Vec<String>> = per_build
            .iter()
            .map(|c| {
                vec![
                    format!("{} `{}`", c.kind, c.tracepoint),
                    format!("{:.0}", c.runs),
                    if c.runs > 0.0 {
                        format!("{:.1} ns", c.run_time_ns / c.runs)
                    } else {
                        "—".into()
                    },
                    format!("{:.1} ms", c.run_time_ns / 1e6),
                ]
            })
            .collect();
        let build_total: f64 = per_build.iter().map(|c| c.run_time_ns).sum();
        let _ = write!(
            s,
            "\nEvery program the recorder holds, not only those on the syscall hooks, during one C build \
             of benchmark 3 in the recorded cgroup (median of 3 builds; each program's runs include \
             other tasks' events meanwhile). Together **{:.1} ms per build**: the programs' own share \
             of benchmark 3's gap, next to start-up and exit (benchmark 4) and the floor's slower \
             syscall path.\n\n",
            build_total / 1e6,
        );
        s.push_str(&report::table(
            &[
                "program",
                "runs per build",
                "ns per run",
                "run time per build",
            ],
            &build_rows,
        ));
        self.summary.push(SummaryRow {
            id: "—".into(),
            what: "recorder programs' run time above the floor's, per syscall (in the recorded cgroup / elsewhere)".into(),
            figure: format!("{:+.1} ns / {:+.1} ns", inside - floor, elsewhere - floor),
            target: "—".into(),
            verdict: Verdict::Info,
        });
        self.sections.push((10, s));
        Ok(())
    }

    /// Every program the recorder holds (on any tracepoint), over 3 runs of `argv` in the
    /// recorded cgroup: runs and run time per run of the workload, medians.
    fn recorder_cost_per_run(&self, argv: &[String]) -> Result<Vec<WorkloadCost>> {
        let Some((bg, _)) = self.hold(Attach::Recorder)? else {
            bail!("nothing to measure without the recorder");
        };
        let pid = bg.child_pid();
        let mut hooks: Vec<Hook> = procs::all_hooks()?
            .into_iter()
            .filter(|h| procs::descends_from(h.pid, pid))
            .collect();
        hooks.sort_by(|a, b| (&a.tracepoint, a.prog_id).cmp(&(&b.tracepoint, b.prog_id)));
        let (deltas, _) = self.stats_over_runs(bg, &hooks, argv, true)?;
        Ok(hooks
            .iter()
            .zip(&deltas)
            .map(|(h, runs)| WorkloadCost {
                kind: h.kind.clone(),
                tracepoint: h.tracepoint.clone(),
                runs: median(&runs.iter().map(|d| d.runs as f64).collect::<Vec<_>>()),
                run_time_ns: median(
                    &runs
                        .iter()
                        .map(|d| d.run_time_ns as f64)
                        .collect::<Vec<_>>(),
                ),
            })
            .collect())
    }

    /// Every syscall program `attach` holds, measured over 3 runs of `argv`.
    fn program_cost(&self, attach: Attach, argv: &[String], calls: u64) -> Result<Vec<ProgCost>> {
        let Some((bg, hooks)) = self.hold(attach)? else {
            bail!("nothing to measure without a program");
        };
        let must_succeed = matches!(attach, Attach::Floor | Attach::Recorder);
        let (deltas, last) = self.stats_over_runs(bg, &hooks, argv, must_succeed)?;
        Ok(hooks
            .iter()
            .zip(&deltas)
            .zip(&last)
            .map(|((h, runs), last)| {
                // A program that did not run (or statistics switched off meanwhile) gives no figure.
                let per_run: Vec<f64> = runs
                    .iter()
                    .map(|d| match d.runs {
                        0 => f64::NAN,
                        n => d.run_time_ns as f64 / n as f64,
                    })
                    .collect();
                let per_call: Vec<f64> = if calls > 0 {
                    runs.iter().map(|d| d.runs as f64 / calls as f64).collect()
                } else {
                    Vec::new()
                };
                ProgCost {
                    kind: h.kind.clone(),
                    tracepoint: h.tracepoint.clone(),
                    ns_per_run: median(&per_run),
                    runs_per_call: median(&per_call),
                    bytes_xlated: last.bytes_xlated,
                    bytes_jited: last.bytes_jited,
                }
            })
            .collect())
    }

    /// Each hook's runs and run time added during each of 3 runs of `argv`, and its statistics
    /// after the last; then stops the holder `bg`, which must have exited well if
    /// `must_succeed`.
    fn stats_over_runs(
        &self,
        bg: Background,
        hooks: &[Hook],
        argv: &[String],
        must_succeed: bool,
    ) -> Result<(Vec<Vec<RunDelta>>, Vec<procs::ProgStats>)> {
        let stats = || {
            hooks
                .iter()
                .map(|h| procs::prog_stats(h.prog_id))
                .collect::<Result<Vec<_>>>()
        };
        let mut deltas = vec![Vec::new(); hooks.len()];
        let mut last = Vec::new();
        for _ in 0..3 {
            let before = stats()?;
            cmd::output(Command::new(&argv[0]).args(&argv[1..]))?;
            last = stats()?;
            for (hook, (b, a)) in deltas.iter_mut().zip(before.iter().zip(&last)) {
                hook.push(RunDelta {
                    runs: a.run_cnt.saturating_sub(b.run_cnt),
                    run_time_ns: a.run_time_ns.saturating_sub(b.run_time_ns),
                });
            }
        }
        match bg.stop() {
            Ok(stopped) if must_succeed && !stopped.status.success() => bail!(
                "the program holder exited with {}; see {}",
                stopped.status,
                self.logs.display()
            ),
            Ok(_) => {}
            // Another tool (bpftrace) that hangs on its way out was killed; its figures were
            // all taken before it was asked to stop.
            Err(err) if !must_succeed => eprintln!("xtask: {err}; its figures stand"),
            Err(err) => return Err(err),
        }
        Ok((deltas, last))
    }
}

/// What one program's statistics grew by over one run of a workload.
#[derive(Clone, Copy)]
struct RunDelta {
    runs: u64,
    run_time_ns: u64,
}

/// One program's runs and run time over one run of a workload.
struct WorkloadCost {
    kind: String,
    tracepoint: String,
    runs: f64,
    run_time_ns: f64,
}

/// A program's run-time statistics over a workload.
struct ProgCost {
    kind: String,
    tracepoint: String,
    ns_per_run: f64,
    /// Program runs per loop call (about 1: every syscall runs it once).
    runs_per_call: f64,
    bytes_xlated: u64,
    bytes_jited: u64,
}
