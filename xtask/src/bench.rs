//! `cargo xtask bench`: measures what recording costs on this machine and writes BENCHMARKS.md.
//!
//! Every figure is a ratio against the same work measured in the same run: the configurations
//! of a benchmark (nothing attached, the empty "floor" program, leastpriv, the alternatives)
//! alternate within each round, their order rotating from round to round, and the report gives
//! medians over rounds of the per-round ratios. Times come from hyperfine (`-N`, no shell),
//! peak memory from /usr/bin/time. A sample taken while some other program on the machine was
//! attached to a syscall tracepoint (which slows every syscall) is detected and taken again.
//!
//! This file only runs the benchmarks in order and writes the report. Each family of
//! benchmarks is a module of its own, by the numbers BENCHMARKS.md gives them:
//!
//! | benchmark | what | module |
//! | --- | --- | --- |
//! | 1, 2, 8a | the getppid loop in and outside the recorded cgroup, under strace and perf | [`loops`] |
//! | 3, 3b, 8 | realistic workloads: a C build, tar and gzip | [`workloads`] |
//! | 4, 5 | start-up, peak memory | [`startup`] |
//! | 4b | the live status line of `record` on a terminal | [`status_line`] |
//! | 6 | file events, 100,000 distinct paths | [`files`] |
//! | 7 | profile generation from a large recording | [`generate`] |
//! | 9, 9b | the getppid and socket loops under their generated seccomp profiles | [`seccomp`] |
//! | 10, 10b, 10c | container start-up, Podman and Docker; a syscall loop in a container | [`containers`] |
//! | 11 | start-up under a 1,000-rule Landlock configuration | [`landlock`] |
//! | costs | the programs' run-time statistics | [`costs`] |
//!
//! What they share: [`harness`] (configurations, samples, series of rounds, the `Bench`
//! state), [`measure`] (hyperfine and the statistics), [`procs`] (background holders, the
//! cgroup, the watch on syscall hooks), [`peers`] (strace, perf trace, bpftrace),
//! [`recordings`] (what a recording held) and [`synthetic`] (the generated recordings of 7).
//! [`render`] assembles BENCHMARKS.md with [`report`]'s formatting; its "What would close the
//! gaps" text is xtask/src/bench/closing_the_gaps.md, kept by hand and included as it is.
//! [`kinds`] carries the summaries of the other kinds of CPU (Intel, AMD) over from the report
//! a run replaces, so that the file holds the latest summary of each.

mod containers;
mod costs;
mod files;
mod generate;
mod harness;
mod kinds;
mod landlock;
mod loops;
mod measure;
mod peers;
mod procs;
mod recordings;
mod render;
mod report;
mod seccomp;
mod startup;
mod status_line;
mod synthetic;
mod workloads;

use crate::cmd::{self, step};
use crate::{packages, toolchain};
use anyhow::{bail, Context, Result};
use harness::{last_cpu, Bench, PATIENCE};
use measure::path_str;
use procs::{BenchCgroup, HookMonitor};
use report::{SummaryRow, Verdict};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

pub struct Options {
    /// Alternating rounds per benchmark.
    pub rounds: usize,
    /// The benchmarks to run (their ids in the summary; "costs" for the programs' run times),
    /// or empty for all.
    pub only: Vec<String>,
}

/// Every benchmark id `--only` takes, in the order they run.
const BENCHMARK_IDS: [&str; 14] = [
    "4", "4b", "1", "8", "2", "3", "3b", "6", "7", "9", "9b", "10", "11", "costs",
];

pub fn run(options: Options) -> Result<i32> {
    if options.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    if let Some(unknown) = options
        .only
        .iter()
        .find(|id| !BENCHMARK_IDS.contains(&id.as_str()))
    {
        bail!(
            "--only {unknown}: no such benchmark; the benchmarks are {}",
            BENCHMARK_IDS.join(", ")
        );
    }
    let wanted = |id: &str| options.only.is_empty() || options.only.iter().any(|o| o == id);
    if !cmd::is_root() {
        bail!(
            "the benchmarks load eBPF programs, create a cgroup and read BPF run-time statistics: \
             run them as root (sudo -E cargo xtask bench)"
        );
    }
    let started = Instant::now();
    let linker_dir = toolchain::ensure()?;
    packages::ensure(packages::BENCH_PACKAGES)?;
    let built = crate::build(&linker_dir)?;
    let root = crate::root();
    let work = root.join("target/bench");
    fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    // A copy, so that a rebuild during the run (another cargo build) cannot change what is
    // measured halfway.
    let bin = work.join("leastpriv");
    let _ = fs::remove_file(&bin);
    fs::copy(&built, &bin)
        .with_context(|| format!("cannot copy {} to {}", built.display(), bin.display()))?;

    let compile = |name: &str| -> Result<PathBuf> {
        step!("compiling bench/{name}.c");
        let bin = work.join(name);
        cmd::run(
            Command::new("gcc")
                .args(["-O2", "-Wall", "-Wextra", "-o"])
                .arg(&bin)
                .arg(root.join(format!("bench/{name}.c"))),
        )?;
        Ok(bin)
    };
    let loop_bin = compile("getppid_loop")?;
    let files_bin = compile("open_files")?;
    let socket_bin = compile("socket_loop")?;
    let machine_start = render::machine(&root, &bin);
    let mut bench = Bench {
        workload: vec![
            "sh".into(),
            path_str(&root.join("bench/workload/build.sh")),
            path_str(&work.join("build")),
        ],
        logs: work.join("logs"),
        cgroup: BenchCgroup::create()?,
        monitor: HookMonitor::start(last_cpu())?,
        rounds: options.rounds,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        tools: peers::probe_tools(),
        summary: Vec::new(),
        sections: Vec::new(),
        patience: Cell::new(PATIENCE),
        attached: RefCell::new(BTreeMap::new()),
        in_cgroup: None,
        outside: None,
        files_held: RefCell::new(Vec::new()),
        root,
        bin,
        work,
        loop_bin,
        files_bin,
        socket_bin,
    };

    // A benchmark that fails is reported as such and the others still run: the report is
    // written either way, and the exit status says whether everything was measured.
    let mut failed = 0;
    let mut attempt = |bench: &mut Bench, id: &str, what: &str, result: Result<()>| {
        if let Err(err) = result {
            step!("benchmark {id} ({what}) failed: {err:#}");
            bench.summary.push(SummaryRow {
                id: id.into(),
                what: what.into(),
                figure: "—".into(),
                target: "—".into(),
                verdict: Verdict::NotMeasured(format!("failed: {err:#}")),
            });
            failed += 1;
        }
    };
    type Benchmark = fn(&mut Bench) -> Result<()>;
    let benchmarks: [(&str, &str, &str, Benchmark); 14] = [
        ("4", "4", "start-up", Bench::startup),
        ("4b", "4b", "the live status line", Bench::status_line),
        (
            "1",
            "1",
            "getppid loop in the recorded cgroup",
            Bench::loop_in_cgroup,
        ),
        (
            "8",
            "8",
            "alternatives on the getppid loop",
            Bench::loop_under_tracers,
        ),
        (
            "2",
            "2",
            "getppid loop outside the recorded cgroup",
            Bench::loop_outside,
        ),
        (
            "3",
            "3",
            "realistic workload (and 5, its memory)",
            |bench| bench.realistic().map(|rss| bench.memory(&rss)),
        ),
        ("3b", "3b", "archive workload", Bench::archive),
        ("6", "6", "file events", Bench::files),
        ("7", "7", "profile generation", Bench::generate),
        ("9", "9", "seccomp", Bench::seccomp),
        (
            "9b",
            "9b",
            "socket loop under an argument-aware profile",
            Bench::seccomp_sockets,
        ),
        ("10", "10", "container start-up", Bench::containers),
        (
            "11",
            "11",
            "start-up under a Landlock configuration",
            Bench::landlock,
        ),
        ("costs", "—", "program run times", Bench::program_costs),
    ];
    for (key, id, what, benchmark) in benchmarks {
        if wanted(key) {
            let r = benchmark(&mut bench);
            attempt(&mut bench, id, what, r);
        }
    }

    // The other kinds of CPU's summaries, carried over from the report this run replaces.
    let previous = fs::read_to_string(bench.root.join("BENCHMARKS.md")).unwrap_or_default();
    let other_kinds = kinds::render(&kinds::previous(&previous), &render::cpu_kind());
    let text = bench.render(&machine_start, started.elapsed(), &other_kinds);
    let out = if options.only.is_empty() {
        bench.root.join("BENCHMARKS.md")
    } else {
        bench.work.join("BENCHMARKS.only.md")
    };
    fs::write(&out, text).with_context(|| format!("cannot write {}", out.display()))?;
    for row in &bench.summary {
        println!(
            "{:>2}  {:<55} {:<28} target {:<10} {}",
            row.id,
            row.what,
            row.figure,
            row.target,
            row.verdict_text()
        );
    }
    step!(
        "wrote {} in {:.0} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    if failed > 0 {
        step!("{failed} benchmark(s) failed; see above and BENCHMARKS.md");
        return Ok(1);
    }
    Ok(0)
}
