//! Assembling BENCHMARKS.md from the run's parts: the machine and tools, how the benchmarks
//! measure, the summary table, each benchmark's section in order, what would close the gaps
//! (closing_the_gaps.md, kept by hand) and the other programs seen on syscall hooks.

use super::harness::{Bench, MAX_RETRIES};
use super::loops::{HOT_LOOP_RUNS, LOOP_ROUNDS_FACTOR};
use super::measure::path_str;
use super::report::{self, SummaryRow};
use super::workloads::{BUILD_REFERENCE_EVERY, BUILD_ROUNDS_FACTOR};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

impl Bench {
    /// The report; `other_kinds` is the section of the other kinds of CPU's summaries (see
    /// [`super::kinds`]), placed after this run's summary.
    pub fn render(
        &self,
        machine: &[(String, String)],
        took: Duration,
        other_kinds: &str,
    ) -> String {
        let mut s = String::from("# Benchmarks\n\n");
        s.push_str(
            "This file is written by `cargo xtask bench` (xtask/src/bench.rs; workloads in bench/). Do not edit it by hand: \
             run the benchmarks again. To reproduce, as root on the machine to measure:\n\n\
             ```\ncargo xtask bench            # several minutes; --rounds N for more or fewer rounds (default 7)\n```\n\n\
             `--only 2,9` runs some of them only and writes their report to target/bench/BENCHMARKS.only.md instead. \
             It builds the release binary (and measures a copy of it, target/bench/leastpriv, which no rebuild can \
             change halfway), installs what it needs from Debian if missing (hyperfine, time, gcc, bpftool, \
             strace, bpftrace, linux-perf), runs every benchmark below in one go and rewrites this file.\n\n",
        );
        s.push_str("## Machine\n\n");
        let rows: Vec<Vec<String>> = machine
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect();
        s.push_str(&report::table(&["", ""], &rows));
        let _ = writeln!(s, "\nThe whole run took {:.0} s.\n", took.as_secs_f64());
        let _ = write!(
            s,
            "## How it measures\n\n\
             - Every configuration of a benchmark is timed by hyperfine (`-N`: no shell) in the same run, in {} alternating \
             rounds ({} for the syscall loops of benchmarks 1 and 2, {} for the C build of benchmark 3, where strace and perf trace, \
             compared for reference, run in every {BUILD_REFERENCE_EVERY}th): each round takes every configuration once (a few runs each; \
             for those loops, which are kept on one CPU with `taskset`, {HOT_LOOP_RUNS} short runs of which the fastest stands for \
             the sample: their own cost is the same every run, and the VMs' slow spells only add to it), in an order that \
             rotates by one from round to round. Times are medians over all runs (for the loops, over their fastest runs). **Ratios are taken within each round and the median over rounds is \
             given, with the lowest and highest round in parentheses**; they are the figures to read, absolute times on this \
             machine only give the scale.\n\
             - *Floor*: `leastpriv bench-floor`, empty programs on the same hooks the recorder uses. Attaching any program \
             there moves every task onto the kernel's slower syscall path; that cost is not the recorder's to remove, so the \
             recorder's targets are stated against the floor measured in the same run.\n\
             - What each held program attached, as `bpftool perf show` listed it: {}.\n\
             - Workloads in the recorded cgroup move themselves into a cgroup made for the run (`sh -c 'echo $$ > \
             CG/cgroup.procs && exec …'`) which `leastpriv record --cgroup CG` (or bpftrace's `cgroupid` filter) watches; \
             every configuration of that benchmark, the unrecorded one included, runs the same way.\n\
             - A program attached to a syscall tracepoint by anyone else slows every syscall on the machine: a watch \
             (`bpftool perf show`, every 100 ms, kept off the CPU the loops are pinned to) notes them, and a sample during which one was attached is taken again \
             (up to {MAX_RETRIES} times).\n\n",
            self.rounds,
            self.rounds * LOOP_ROUNDS_FACTOR,
            self.rounds * BUILD_ROUNDS_FACTOR,
            self.attached
                .borrow()
                .iter()
                .map(|(name, hooks)| format!("{name}: {hooks}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
        s.push_str("## Summary\n\n");
        let mut summary: Vec<&SummaryRow> = self.summary.iter().collect();
        // By number, then suffix ("3" before "3b" before "4"); rows without one ("—") last.
        summary.sort_by_key(|r| {
            let digits = r.id.len() - r.id.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            (
                r.id[..digits].parse::<u32>().unwrap_or(u32::MAX),
                r.id[digits..].to_owned(),
            )
        });
        let rows: Vec<Vec<String>> = summary
            .into_iter()
            .map(|r| {
                vec![
                    r.id.clone(),
                    r.what.clone(),
                    r.figure.clone(),
                    r.target.clone(),
                    r.verdict_text(),
                ]
            })
            .collect();
        s.push_str(&report::table(
            &["#", "benchmark", "result", "target", "verdict"],
            &rows,
        ));
        s.push_str("\nRatios are medians of per-round ratios (lowest–highest round).\n\n");
        s.push_str(other_kinds);
        let mut sections: Vec<&(u32, String)> = self.sections.iter().collect();
        sections.sort_by_key(|(order, _)| *order);
        for (_, section) in sections {
            s.push_str(section);
            s.push('\n');
        }
        s.push_str(CLOSING_THE_GAPS);
        s.push('\n');
        let seen = self.monitor.all_sightings();
        s.push_str("## Other programs on syscall hooks during the run\n\n");
        if seen.is_empty() {
            s.push_str("None seen.\n");
        } else {
            // By process name: how many processes, on which hooks.
            let mut by_comm: BTreeMap<&str, (Vec<u32>, Vec<&str>)> = BTreeMap::new();
            for x in &seen {
                let (pids, hooks) = by_comm.entry(&x.comm).or_default();
                if !pids.contains(&x.pid) {
                    pids.push(x.pid);
                }
                if !hooks.contains(&x.tracepoint.as_str()) {
                    hooks.push(&x.tracepoint);
                }
            }
            s.push_str(
                "Seen by the watch; the samples they overlapped were taken again (see each benchmark's note):\n\n",
            );
            for (comm, (pids, hooks)) in by_comm {
                let _ = writeln!(
                    s,
                    "- `{comm}`: {} process(es), on {}",
                    pids.len(),
                    hooks.join(", ")
                );
            }
        }
        s
    }
}

/// This machine's kind of CPU (see [`super::kinds`]), from its vendor.
pub fn cpu_kind() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let vendor = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("vendor_id")?
                .split_once(':')
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    super::kinds::kind_of(&vendor).to_owned()
}

/// The machine, the build and the tools, as the report's first table.
pub fn machine(root: &Path, bin: &Path) -> Vec<(String, String)> {
    let read = |p: &str| fs::read_to_string(p).unwrap_or_default();
    let first_line = |argv: &[&str]| -> String {
        Command::new(argv[0])
            .args(&argv[1..])
            .output()
            .ok()
            .map(|o| {
                let text = if o.stdout.is_empty() {
                    o.stderr
                } else {
                    o.stdout
                };
                String::from_utf8_lossy(&text)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_owned()
            })
            .filter(|l| !l.is_empty())
            .unwrap_or_else(|| "not available".into())
    };
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let virt = if cpuinfo
        .lines()
        .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor"))
    {
        ", virtual machine"
    } else {
        ""
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem_kib: f64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN);
    let os = read("/etc/os-release")
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_owned())
        .unwrap_or_else(|| "unknown".into());
    let commit = first_line(&["git", "-C", &path_str(root), "rev-parse", "--short", "HEAD"]);
    let dirty = Command::new("git")
        .args([
            "--no-optional-locks",
            "-C",
            &path_str(root),
            "status",
            "--porcelain",
            "--untracked-files=no",
        ])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    vec![
        (
            "date".into(),
            first_line(&["date", "-u", "+%Y-%m-%d %H:%M UTC"]),
        ),
        (
            "kernel".into(),
            read("/proc/sys/kernel/osrelease").trim().to_owned(),
        ),
        ("CPU".into(), format!("{model} × {cpus}{virt}")),
        ("CPU kind".into(), cpu_kind()),
        (
            "mitigations".into(),
            super::kinds::mitigations(|p| fs::read_to_string(p).ok()),
        ),
        (
            "memory".into(),
            format!("{:.1} GiB", mem_kib / 1024.0 / 1024.0),
        ),
        ("OS".into(), os),
        (
            "leastpriv".into(),
            format!(
                "{} (commit {commit}{})",
                first_line(&[&path_str(bin), "--version"]),
                if dirty {
                    ", with uncommitted changes"
                } else {
                    ""
                }
            ),
        ),
        ("hyperfine".into(), first_line(&["hyperfine", "--version"])),
        ("strace".into(), first_line(&["strace", "-V"])),
        ("bpftrace".into(), first_line(&["bpftrace", "--version"])),
        ("perf".into(), first_line(&["perf", "version"])),
        ("bpftool".into(), first_line(&["bpftool", "version"])),
        ("gcc".into(), first_line(&["gcc", "--version"])),
        (
            "load average at start".into(),
            read("/proc/loadavg")
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ]
}

/// What is known about the missed targets, and what would close them: written with the
/// figures so the report stays honest between runs. Edited by hand in its own file, which is
/// the only copy: BENCHMARKS.md gets it from here, after the sections and like each of them
/// followed by a blank line.
const CLOSING_THE_GAPS: &str = include_str!("closing_the_gaps.md");

#[cfg(test)]
mod tests {
    use super::CLOSING_THE_GAPS;

    #[test]
    fn closing_the_gaps_is_one_section() {
        // The report adds the blank line after it, so the file ends in one newline, as
        // editors leave it; a second one, or a second section, would change BENCHMARKS.md.
        assert!(CLOSING_THE_GAPS.starts_with("## What would close the gaps\n\n"));
        assert!(CLOSING_THE_GAPS.ends_with('\n') && !CLOSING_THE_GAPS.ends_with("\n\n"));
        assert_eq!(CLOSING_THE_GAPS.matches("\n## ").count(), 0);
    }
}
