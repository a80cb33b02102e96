//! What every benchmark is made of: configurations (what is attached to the syscall hooks
//! while which command is timed), samples and series of alternating rounds, and the `Bench`
//! that holds the run's state and the report's parts.
//!
//! A sample is one hyperfine call of a configuration's command while its holder (the floor,
//! the recorder, bpftrace) is attached. It is taken again if some other program on the machine
//! was attached to a syscall hook meanwhile, since that slows every syscall. A series takes
//! every configuration once per round, in an order rotating from round to round, so that the
//! ratios of one round compare samples taken seconds apart.

use super::measure::{
    busy_cpus, command_line, cpu_times, hyperfine, path_str, sh_quote, strings, Measured,
    PerSample, Sample, Series,
};
use super::peers::{self, Tools};
use super::procs::{Background, BenchCgroup, Hook, HookMonitor};
use super::recordings::{recorded_getppid, FilesHeld};
use super::report::SummaryRow;
use crate::cmd::step;
use anyhow::{bail, Context, Result};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Calls of the syscall-bound loop (benchmark 9, and the run-time statistics).
pub const LOOP_CALLS: u64 = 2_000_000;

/// How long to wait for someone else's syscall hook to go before taking a sample.
pub const PATIENCE: Duration = Duration::from_secs(20);
/// How often a sample disturbed by someone else's syscall hook is taken again.
pub const MAX_RETRIES: u32 = 3;

/// What is attached to the syscall hook while a configuration's command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    Nothing,
    /// `leastpriv bench-floor`: empty programs on the recorder's syscall hooks.
    Floor,
    /// `leastpriv record --cgroup CG`: the workload runs in CG, so it is recorded.
    Recorder,
    /// `leastpriv record -- sleep 1000`: a recording of something else is going on.
    RecorderElsewhere,
    /// A bpftrace one-liner counting raw_syscalls:sys_enter for CG.
    Bpftrace,
}

/// One configuration of a benchmark: what is attached and what is timed.
pub struct Config {
    pub key: &'static str,
    pub label: &'static str,
    pub attach: Attach,
    pub argv: Vec<String>,
    pub runs: usize,
    /// For `Attach::Recorder`: the recording must count at least this many getppid calls per run.
    pub getppid_per_run: u64,
    /// A recording to read after each sample, and the directory whose files it should hold
    /// (benchmark 6): what it holds is kept in `Bench::files_held`.
    pub holds_files: Option<(PathBuf, String)>,
    /// Measured in every `every`-th round only (1: every round), for slow tools compared for
    /// reference; its ratios pair only the rounds it was measured in.
    pub every: usize,
    /// Which of a sample's runs its ratios take.
    pub per_sample: PerSample,
}

impl Config {
    pub fn new(
        key: &'static str,
        label: &'static str,
        attach: Attach,
        argv: Vec<String>,
        runs: usize,
    ) -> Config {
        Config {
            key,
            label,
            attach,
            argv,
            runs,
            getppid_per_run: 0,
            holds_files: None,
            every: 1,
            per_sample: PerSample::Median,
        }
    }

    /// Measured in every `every`-th round only.
    pub fn every(mut self, every: usize) -> Config {
        self.every = every.max(1);
        self
    }

    pub fn recording_getppid(mut self, calls: u64) -> Config {
        self.getppid_per_run = calls;
        self
    }

    pub fn recording_files(mut self, recording: PathBuf, dir: &Path) -> Config {
        self.holds_files = Some((recording, format!("{}/", dir.display())));
        self
    }
}

/// One run of the benchmarks: the binaries and places it measures with, the state shared by
/// the benchmarks (the cgroup, the watch on syscall hooks, the samples later ones compare
/// with), and the report's parts as they are measured.
pub struct Bench {
    pub root: PathBuf,
    pub bin: PathBuf,
    pub work: PathBuf,
    pub logs: PathBuf,
    pub loop_bin: PathBuf,
    /// bench/socket_loop.c, compiled.
    pub socket_bin: PathBuf,
    pub files_bin: PathBuf,
    pub workload: Vec<String>,
    pub cgroup: BenchCgroup,
    pub monitor: HookMonitor,
    pub rounds: usize,
    pub cpus: usize,
    pub tools: Tools,
    pub summary: Vec<SummaryRow>,
    /// (order in the report, text)
    pub sections: Vec<(u32, String)>,
    /// How long the next sample waits for a quiet machine (see `sample`).
    pub patience: Cell<Duration>,
    /// What each background program attached, as first seen (for the report).
    pub attached: RefCell<BTreeMap<&'static str, String>>,
    /// Benchmarks 1 and 2, which the program-cost section compares with.
    pub in_cgroup: Option<Series>,
    pub outside: Option<Series>,
    /// What each recording of benchmark 6 held, by configuration key, in sample order.
    pub files_held: RefCell<Vec<(&'static str, FilesHeld)>>,
}

impl Bench {
    pub fn lp(&self, args: &[&str]) -> Vec<String> {
        let mut argv = vec![path_str(&self.bin)];
        argv.extend(strings(args));
        argv
    }

    pub fn getppid_loop(&self, calls: u64) -> Vec<String> {
        vec![path_str(&self.loop_bin), calls.to_string()]
    }

    /// `argv` kept on one CPU (`taskset`), the last this process may use, when there are
    /// two or more: a loop that the scheduler moves between CPUs varies about twice as much
    /// from run to run (standard deviation over 20 runs under the floor, 9 against 5 ms of
    /// 240). Only the measured command is pinned, the same way in every configuration; the
    /// holders (the recorder among them) run wherever the scheduler puts them.
    pub fn pinned(argv: Vec<String>) -> Vec<String> {
        let Some(cpu) = last_cpu() else {
            return argv;
        };
        let mut pinned = strings(&["taskset", "-c", &cpu.to_string()]);
        pinned.extend(argv);
        pinned
    }

    /// `argv`, run from a shell that first moves itself into the benchmark's cgroup.
    pub fn in_cgroup(&self, argv: Vec<String>) -> Vec<String> {
        let procs = self.cgroup.path().join("cgroup.procs");
        let mut job = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            format!(
                "echo $$ > {} && exec \"$0\" \"$@\"",
                sh_quote(&path_str(&procs))
            ),
        ];
        job.extend(argv);
        job
    }

    pub fn recording_path(&self, name: &str) -> PathBuf {
        self.work.join(format!("{name}.recording.json"))
    }

    /// Starts what `attach` names and waits until it is attached to sys_enter.
    pub fn hold(&self, attach: Attach) -> Result<Option<(Background, Vec<Hook>)>> {
        let (name, argv, timed, signal, marker) = match attach {
            Attach::Nothing => return Ok(None),
            Attach::Floor => (
                "floor",
                self.lp(&["bench-floor"]),
                true,
                libc::SIGTERM,
                Some("attached"),
            ),
            Attach::Recorder => {
                let rec = path_str(&self.recording_path("cgroup"));
                let cg = path_str(self.cgroup.path());
                let argv = self.lp(&["record", "--cgroup", &cg, "-o", &rec]);
                ("recorder", argv, true, libc::SIGINT, None)
            }
            Attach::RecorderElsewhere => {
                let rec = path_str(&self.recording_path("elsewhere"));
                let argv = self.lp(&["record", "-o", &rec, "--", "sleep", "1000"]);
                ("recorder-elsewhere", argv, false, libc::SIGINT, None)
            }
            Attach::Bpftrace => {
                let argv = vec![
                    "bpftrace".into(),
                    "-e".into(),
                    peers::bpftrace_script(self.cgroup.path()),
                ];
                ("bpftrace", argv, false, libc::SIGTERM, Some("attached"))
            }
        };
        if attach == Attach::Recorder {
            let _ = fs::remove_file(self.recording_path("cgroup"));
        }
        let mut bg = Background::start(name, &argv, &self.logs, timed, signal)?;
        let hooks = bg.wait_attached(marker, Duration::from_secs(30))?;
        self.attached.borrow_mut().entry(name).or_insert_with(|| {
            hooks
                .iter()
                .map(|h| format!("{} `{}`", h.kind, h.tracepoint))
                .collect::<Vec<_>>()
                .join(", ")
        });
        Ok(Some((bg, hooks)))
    }

    /// Measures one configuration once (one hyperfine call of `runs` runs), taking it again if
    /// another program was attached to a syscall hook meanwhile.
    fn sample(&self, config: &Config) -> Result<Sample> {
        let mut retries = 0;
        loop {
            // Someone else's hook that stays for good is not worth waiting for at every sample:
            // after one wait in vain, the next waits are short (until the machine is quiet again).
            let quiet = self.monitor.wait_quiet(self.patience.get())?;
            self.patience.set(if quiet {
                PATIENCE
            } else {
                Duration::from_secs(2)
            });
            let held = self.hold(config.attach)?;
            let (cpu0, t0) = (cpu_times(), Instant::now());
            let timed = hyperfine(&config.argv, config.runs, &self.work.join("hyperfine.json"));
            let (cpu1, t1) = (cpu_times(), Instant::now());
            let stopped = match held {
                Some((bg, _)) => {
                    let name = bg.name().to_owned();
                    let ours = matches!(config.attach, Attach::Floor | Attach::Recorder);
                    let stopped = match bg.stop() {
                        Ok(stopped) => stopped,
                        // Another tool that hangs on its way out (bpftrace did, once in a few
                        // hundred samples) has been killed: the sample is taken again.
                        Err(err) if !ours && retries < MAX_RETRIES => {
                            retries += 1;
                            step!("  {}: {err:#}; taking it again", config.label);
                            continue;
                        }
                        Err(err) => return Err(err),
                    };
                    if ours && !stopped.status.success() {
                        bail!(
                            "{name} exited with {}; see {}",
                            stopped.status,
                            self.logs.display()
                        );
                    }
                    Some(stopped)
                }
                None => None,
            };
            let times = timed.with_context(|| format!("timing {}", config.label))?;
            if config.attach == Attach::Recorder && config.getppid_per_run > 0 {
                let want = config.getppid_per_run * config.runs as u64;
                let got = recorded_getppid(&self.recording_path("cgroup"))?;
                if got < want {
                    bail!("the recorder counted {got} getppid calls in the cgroup, expected at least {want}");
                }
            }
            if let Some((recording, prefix)) = &config.holds_files {
                let held = FilesHeld::read(recording, prefix)?;
                self.files_held.borrow_mut().push((config.key, held));
            }
            let seen = self.monitor.seen_during(t0, t1)?;
            let disturbed = !quiet || !seen.is_empty();
            if disturbed && quiet && retries < MAX_RETRIES {
                retries += 1;
                let who = seen
                    .first()
                    .map(|s| format!("{} (pid {}, {})", s.comm, s.pid, s.tracepoint))
                    .unwrap_or_else(|| "another program".into());
                step!(
                    "  {}: {who} was attached to a syscall hook meanwhile; taking it again",
                    config.label
                );
                continue;
            }
            return Ok(Sample {
                times,
                retries,
                disturbed,
                busy_cpus: busy_cpus(cpu0, cpu1, self.cpus),
                stop_secs: stopped.as_ref().map(|s| s.stop_secs),
                max_rss_kib: stopped.and_then(|s| s.max_rss_kib),
            });
        }
    }

    /// Every configuration once per round, in an order rotating by one each round.
    pub fn series(&self, name: &str, configs: &[Config], rounds: usize) -> Result<Series> {
        let mut measured: Vec<Measured> = configs
            .iter()
            .map(|c| Measured {
                key: c.key,
                label: c.label.into(),
                per_sample: c.per_sample,
                samples: Vec::new(),
            })
            .collect();
        let started = Instant::now();
        for round in 0..rounds {
            step!("{name}: round {}/{rounds}", round + 1);
            for i in 0..configs.len() {
                let index = (i + round) % configs.len();
                // A round a configuration skips leaves it a sample with no runs: its ratios
                // with others are not a number there, and are left out of their spread.
                let sample = if round % configs[index].every == 0 {
                    self.sample(&configs[index])?
                } else {
                    Sample::default()
                };
                measured[index].samples.push(sample);
            }
        }
        Ok(Series {
            configs: measured,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// A command for reading: paths relative to the workspace, the cgroup as CG.
    fn show(&self, argv: &[String]) -> String {
        let root = format!("{}/", self.root.display());
        command_line(argv)
            .replace(&path_str(self.cgroup.path()), "CG")
            .replace(&root, "")
    }

    pub fn commands(&self, configs: &[Config]) -> String {
        let mut out = String::from(
            "Commands timed (each configuration's command; paths relative to the repository):\n\n",
        );
        for c in configs {
            let held = match c.attach {
                Attach::Nothing => String::new(),
                Attach::Floor => " while `leastpriv bench-floor` holds the empty programs".into(),
                Attach::Recorder => {
                    " while `leastpriv record --cgroup CG` records the cgroup".into()
                }
                Attach::RecorderElsewhere => {
                    " while `leastpriv record -- sleep 1000` records something else".into()
                }
                Attach::Bpftrace => format!(
                    " while `bpftrace -e '{}'` runs",
                    peers::bpftrace_script(self.cgroup.path())
                        .replace(&path_str(self.cgroup.path()), "CG")
                ),
            };
            let rounds = match c.every {
                1 => String::new(),
                n => format!(", in every {}th round", n),
            };
            let counted = match c.per_sample {
                PerSample::Median => "",
                PerSample::Fastest => ", the fastest counted",
            };
            let _ = writeln!(
                out,
                "- {}: `{}`{held}, {} run(s) per round{counted}{rounds}",
                c.label,
                self.show(&c.argv),
                c.runs
            );
        }
        let cgroup = path_str(self.cgroup.path());
        let uses_cgroup = configs.iter().any(|c| {
            matches!(c.attach, Attach::Recorder | Attach::Bpftrace)
                || c.argv.iter().any(|a| a.contains(&cgroup))
        });
        if uses_cgroup {
            let _ = writeln!(
                out,
                "\nCG is `{cgroup}`, a cgroup created for the run and removed after it."
            );
        }
        out
    }

    /// Noise note under each table.
    pub fn noise(&self, series: &Series) -> String {
        let mut note = format!(
            "This benchmark took {:.0} s. Machine load during the samples: {:.2} CPUs busy (median; the measured command \
             itself accounts for about one).",
            series.seconds,
            series.busy_cpus()
        );
        let (retries, disturbed) = (series.retries(), series.disturbed());
        if retries > 0 {
            let _ = write!(note, " {retries} sample(s) were taken again because another program on the machine was attached to a syscall hook meanwhile.");
        }
        if disturbed > 0 {
            let _ = write!(note, " **{disturbed} sample(s) still had a foreign syscall hook attached (after {MAX_RETRIES} retries, or one that would not go away) and are included.**");
        }
        note
    }
}

/// The highest CPU this process may run on, if it may run on two or more.
pub fn last_cpu() -> Option<usize> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set, filled in by the kernel.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: pid 0 is this thread; the size is that of `set`.
    let got = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
    if got != 0 {
        return None;
    }
    // SAFETY: CPU_ISSET reads the set within its size.
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect();
    (cpus.len() >= 2).then(|| cpus[cpus.len() - 1])
}
