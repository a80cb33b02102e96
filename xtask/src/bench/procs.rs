//! What the benchmarks hold while they measure: background programs attached to the syscall
//! hook (floor, recorders, bpftrace), the cgroup workloads run in, and a watch over every
//! program attached to a syscall tracepoint on the machine, since anyone else's slows every
//! syscall we time.

use crate::cmd::{self, step};
use anyhow::{anyhow, bail, Context, Result};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Sends `signal` to `pid`; a process that is already gone is not an error.
pub fn kill(pid: u32, signal: i32) -> Result<()> {
    let pid = libc::pid_t::try_from(pid).context("pid out of range")?;
    // SAFETY: kill(2) takes plain integers; the pids are of processes we started.
    if unsafe { libc::kill(pid, signal) } != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            return Err(err).with_context(|| format!("cannot send signal {signal} to {pid}"));
        }
    }
    Ok(())
}

/// The parent of `pid`, from /proc/PID/stat (the name in parentheses may hold anything).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `pid` is `ancestor` or one of its descendants.
pub fn descends_from(pid: u32, ancestor: u32) -> bool {
    let mut current = pid;
    for _ in 0..128 {
        if current == ancestor {
            return true;
        }
        match parent_of(current) {
            Some(parent) if parent != 0 && parent != current => current = parent,
            _ => return false,
        }
    }
    false
}

/// The children of `pid` (scanning /proc, which needs no CONFIG_PROC_CHILDREN).
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| parent_of(p) == Some(pid))
        .collect()
}

fn comm(pid: u32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|c| c.trim_end().to_owned())
        .unwrap_or_else(|_| "?".into())
}

/// A BPF program attached to a syscall tracepoint, as `bpftool perf show` lists it.
#[derive(Debug, Clone)]
pub struct Hook {
    pub pid: u32,
    pub prog_id: u64,
    /// `raw_tracepoint` or `tracepoint`.
    pub kind: String,
    /// e.g. `sys_enter` (raw tracepoint, or raw_syscalls:sys_enter), `sys_enter_openat`.
    pub tracepoint: String,
}

/// Every BPF program attached to a syscall entry or exit tracepoint, by the process holding it.
/// Any of them moves every task onto the kernel's slower syscall path.
pub fn syscall_hooks() -> Result<Vec<Hook>> {
    Ok(all_hooks()?
        .into_iter()
        .filter(|h| h.tracepoint.starts_with("sys_enter") || h.tracepoint.starts_with("sys_exit"))
        .collect())
}

/// Every program attached to a tracepoint (any, not only the syscall hooks), from
/// `bpftool perf show`.
pub fn all_hooks() -> Result<Vec<Hook>> {
    let out = cmd::output(Command::new("bpftool").args(["perf", "show", "-j"]))?;
    if out.trim().is_empty() {
        return Ok(Vec::new());
    }
    let list: serde_json::Value =
        serde_json::from_str(out.trim()).context("cannot parse `bpftool perf show -j`")?;
    let mut hooks = Vec::new();
    for entry in list.as_array().into_iter().flatten() {
        let Some(tracepoint) = entry["tracepoint"].as_str() else {
            continue;
        };
        hooks.push(Hook {
            pid: entry["pid"].as_u64().unwrap_or(0) as u32,
            prog_id: entry["prog_id"].as_u64().unwrap_or(0),
            kind: entry["fd_type"].as_str().unwrap_or_default().to_owned(),
            tracepoint: tracepoint.to_owned(),
        });
    }
    Ok(hooks)
}

/// A syscall hook seen that this benchmark did not attach.
#[derive(Debug, Clone)]
pub struct Sighting {
    pub at: Instant,
    pub pid: u32,
    pub comm: String,
    pub tracepoint: String,
}

#[derive(Default)]
struct MonitorState {
    /// Start of the latest completed poll, and how many foreign hooks it saw.
    last_poll: Option<(Instant, usize)>,
    sightings: Vec<Sighting>,
    error: Option<String>,
}

/// Polls the machine's syscall hooks every 100 ms on a thread and keeps a log of those that are
/// not ours (not held by this process or a descendant), so that a sample taken while another
/// program slowed every syscall can be detected and taken again.
pub struct HookMonitor {
    state: Arc<Mutex<MonitorState>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

const POLL: Duration = Duration::from_millis(100);

/// Moves the calling thread (and the processes it starts after, which inherit its affinity)
/// off `cpu`, if it may run on any other. Best effort: if the kernel refuses, the watch runs
/// where it did, which only makes samples noisier.
fn keep_off_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set, filled in by the kernel.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of_val(&set);
    // SAFETY: pid 0 is this thread; the size is that of `set`.
    if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0
        || cpu >= libc::CPU_SETSIZE as usize
    {
        return;
    }
    // SAFETY: CPU_CLR and CPU_COUNT stay within the set's size (checked above).
    unsafe { libc::CPU_CLR(cpu, &mut set) };
    if unsafe { libc::CPU_COUNT(&set) } == 0 {
        return;
    }
    // SAFETY: as for sched_getaffinity.
    let _ = unsafe { libc::sched_setaffinity(0, size, &set) };
}

impl HookMonitor {
    /// Starts the watch. `spare_cpu` is the CPU measured commands are pinned to: the watch
    /// (a `bpftool` run of about 1.4 ms of CPU every 100 ms) keeps off it, so that it never
    /// takes turns with a timed loop. It runs in every configuration alike, so it biased no
    /// ratio, but a run it landed on read about 1% slow, noise of the size of the targets.
    pub fn start(spare_cpu: Option<usize>) -> Result<HookMonitor> {
        syscall_hooks().context("`bpftool perf show` does not work here")?;
        let state = Arc::new(Mutex::new(MonitorState::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let me = std::process::id();
        let thread = {
            let (state, stop) = (state.clone(), stop.clone());
            std::thread::spawn(move || {
                if let Some(cpu) = spare_cpu {
                    keep_off_cpu(cpu);
                }
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let polled = syscall_hooks();
                    let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
                    match polled {
                        Ok(hooks) => {
                            // A process that is gone by the time its ancestry is read cannot
                            // be told apart; ours end that way at every stop, so it is skipped.
                            let foreign: Vec<Sighting> = hooks
                                .into_iter()
                                .filter(|h| {
                                    !descends_from(h.pid, me)
                                        && Path::new("/proc").join(h.pid.to_string()).exists()
                                })
                                .map(|h| Sighting {
                                    at: started,
                                    pid: h.pid,
                                    comm: comm(h.pid),
                                    tracepoint: format!("{} {}", h.kind, h.tracepoint),
                                })
                                .collect();
                            s.last_poll = Some((started, foreign.len()));
                            s.sightings.extend(foreign);
                        }
                        Err(err) => s.error = Some(format!("{err:#}")),
                    }
                    drop(s);
                    std::thread::sleep(POLL);
                }
            })
        };
        let monitor = HookMonitor {
            state,
            stop,
            thread: Some(thread),
        };
        monitor.wait_for_poll_after(Instant::now())?;
        Ok(monitor)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MonitorState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a poll that started after `t`; returns its start and foreign count.
    fn wait_for_poll_after(&self, t: Instant) -> Result<(Instant, usize)> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            {
                let s = self.lock();
                if let Some(err) = &s.error {
                    bail!("watching the syscall hooks failed: {err}");
                }
                if let Some((at, n)) = s.last_poll {
                    if at > t {
                        return Ok((at, n));
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("the syscall hook watch stopped answering");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to `timeout`) until a fresh poll finds no foreign syscall hook. Returns false if
    /// one was still there at the end.
    pub fn wait_quiet(&self, timeout: Duration) -> Result<bool> {
        let deadline = Instant::now() + timeout;
        let mut said = false;
        loop {
            let (_, foreign) = self.wait_for_poll_after(Instant::now())?;
            if foreign == 0 {
                return Ok(true);
            }
            if Instant::now() > deadline {
                return Ok(false);
            }
            if !said {
                let who = self.lock().sightings.last().cloned();
                if let Some(who) = who {
                    step!(
                        "waiting: another program is attached to a syscall hook ({} pid {}, {})",
                        who.comm,
                        who.pid,
                        who.tracepoint
                    );
                }
                said = true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Foreign hooks seen from (one poll before) `from` until a poll that started after `to`.
    pub fn seen_during(&self, from: Instant, to: Instant) -> Result<Vec<Sighting>> {
        let (until, _) = self.wait_for_poll_after(to)?;
        let from = from.checked_sub(POLL).unwrap_or(from);
        Ok(self
            .lock()
            .sightings
            .iter()
            .filter(|s| s.at >= from && s.at <= until)
            .cloned()
            .collect())
    }

    /// Every foreign hook seen during the whole benchmark, one line per process.
    pub fn all_sightings(&self) -> Vec<Sighting> {
        let mut seen: Vec<Sighting> = Vec::new();
        for s in &self.lock().sightings {
            if !seen
                .iter()
                .any(|x| x.pid == s.pid && x.tracepoint == s.tracepoint)
            {
                seen.push(s.clone());
            }
        }
        seen
    }
}

impl Drop for HookMonitor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A program held running in the background while something is measured. Stopping it (or
/// dropping it, on any error path) signals it and waits; nothing it started outlives it.
pub struct Background {
    name: String,
    child: Option<Child>,
    /// Whether `child` is /usr/bin/time around the real program (then the real program is
    /// the child's child, and that is what gets signalled).
    timed: bool,
    stop_signal: i32,
    stdout: PathBuf,
    stderr: PathBuf,
    rss_file: PathBuf,
}

/// How a background program ended.
pub struct Stopped {
    pub status: ExitStatus,
    /// From the stop signal to the exit (a recorder writes its recording meanwhile).
    pub stop_secs: f64,
    /// Peak resident set size in KiB, when it ran under /usr/bin/time.
    pub max_rss_kib: Option<u64>,
}

impl Background {
    /// Starts `argv` with its output in `log_dir/NAME.{stdout,stderr}`; with `timed`, under
    /// `/usr/bin/time` so that its peak memory is known when it stops.
    pub fn start(
        name: &str,
        argv: &[String],
        log_dir: &Path,
        timed: bool,
        stop_signal: i32,
    ) -> Result<Background> {
        fs::create_dir_all(log_dir)
            .with_context(|| format!("cannot create {}", log_dir.display()))?;
        let stdout = log_dir.join(format!("{name}.stdout"));
        let stderr = log_dir.join(format!("{name}.stderr"));
        let rss_file = log_dir.join(format!("{name}.maxrss"));
        let _ = fs::remove_file(&rss_file);
        let mut command = if timed {
            let mut c = Command::new("/usr/bin/time");
            c.args(["-f", "%M", "-o"]).arg(&rss_file).args(argv);
            c
        } else {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        };
        command
            .stdin(Stdio::null())
            .stdout(
                File::create(&stdout)
                    .with_context(|| format!("cannot create {}", stdout.display()))?,
            )
            .stderr(
                File::create(&stderr)
                    .with_context(|| format!("cannot create {}", stderr.display()))?,
            );
        let child = command
            .spawn()
            .with_context(|| format!("could not start `{}`", cmd::describe(&command)))?;
        Ok(Background {
            name: name.to_owned(),
            child: Some(child),
            timed,
            stop_signal,
            stdout,
            stderr,
            rss_file,
        })
    }

    pub fn child_pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn stderr_text(&self) -> String {
        fs::read_to_string(&self.stderr)
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    /// Waits until the program holds a BPF program on `sys_enter` (and, if given, has printed
    /// `marker` on stdout) and its set of syscall hooks stays the same for 50 ms; returns them.
    pub fn wait_attached(&mut self, marker: Option<&str>, timeout: Duration) -> Result<Vec<Hook>> {
        let deadline = Instant::now() + timeout;
        let pid = self.child_pid();
        let mut previous: Option<Vec<u64>> = None;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    self.child = None;
                    bail!(
                        "{} exited ({status}) before attaching: {}",
                        self.name,
                        self.stderr_text()
                    );
                }
            }
            let printed = marker.is_none_or(|m| {
                fs::read_to_string(&self.stdout).is_ok_and(|out| out.lines().any(|l| l == m))
            });
            if printed {
                let mut hooks: Vec<Hook> = syscall_hooks()?
                    .into_iter()
                    .filter(|h| descends_from(h.pid, pid))
                    .collect();
                hooks.sort_by(|a, b| (&a.tracepoint, a.prog_id).cmp(&(&b.tracepoint, b.prog_id)));
                let ids: Vec<u64> = hooks.iter().map(|h| h.prog_id).collect();
                if hooks.iter().any(|h| h.tracepoint == "sys_enter") {
                    if previous.as_ref() == Some(&ids) {
                        return Ok(hooks);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                previous = Some(ids);
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not attach to sys_enter within {timeout:?}: {}",
                    self.name,
                    self.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Signals the program to stop and waits for it (killing it after 30 s).
    pub fn stop(mut self) -> Result<Stopped> {
        let asked = Instant::now();
        let status = self.shut_down(Duration::from_secs(30))?;
        let stop_secs = asked.elapsed().as_secs_f64();
        let max_rss_kib = self
            .timed
            .then(|| fs::read_to_string(&self.rss_file).ok())
            .flatten()
            .and_then(|text| text.lines().last()?.trim().parse().ok());
        Ok(Stopped {
            status,
            stop_secs,
            max_rss_kib,
        })
    }

    fn shut_down(&mut self, patience: Duration) -> Result<ExitStatus> {
        let Some(mut child) = self.child.take() else {
            bail!("{} is not running", self.name);
        };
        if let Some(status) = child.try_wait()? {
            bail!(
                "{} had already exited ({status}): {}",
                self.name,
                self.stderr_text()
            );
        }
        let target = if self.timed {
            children_of(child.id()).into_iter().min()
        } else {
            Some(child.id())
        };
        if let Some(target) = target {
            kill(target, self.stop_signal)?;
        }
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                if let Some(target) = target {
                    let _ = kill(target, libc::SIGKILL);
                }
                let _ = child.kill();
                let _ = child.wait();
                bail!("{} did not stop within {patience:?}; killed it", self.name);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if self.child.is_some() {
            if let Err(err) = self.shut_down(Duration::from_secs(5)) {
                step!("stopping {}: {err:#}", self.name);
            }
        }
    }
}

/// The cgroup v2 mount point, from /proc/self/mountinfo (hybrid systems mount it at
/// /sys/fs/cgroup/unified, most others at /sys/fs/cgroup).
pub fn cgroup2_mount() -> Result<PathBuf> {
    let info =
        fs::read_to_string("/proc/self/mountinfo").context("cannot read /proc/self/mountinfo")?;
    info.lines()
        .find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            (right.split_whitespace().next()? == "cgroup2")
                .then(|| {
                    left.split_whitespace()
                        .nth(4)
                        .map(|p| p.replace("\\040", " "))
                })
                .flatten()
        })
        .map(PathBuf::from)
        .ok_or_else(|| anyhow!("no cgroup2 file system is mounted (see /proc/self/mountinfo)"))
}

/// A cgroup of our own that workloads move into (`lpbench-<pid>` under the cgroup v2 mount),
/// removed on drop after killing anything left in it.
pub struct BenchCgroup {
    path: PathBuf,
}

const CGROUP_PREFIX: &str = "lpbench-";

impl BenchCgroup {
    pub fn create() -> Result<BenchCgroup> {
        let mount = cgroup2_mount()?;
        // Those of earlier runs that were killed before they could clean up.
        for entry in fs::read_dir(&mount).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix(CGROUP_PREFIX) {
                if !Path::new("/proc").join(pid).exists() {
                    remove_cgroup(&entry.path());
                }
            }
        }
        let path = mount.join(format!("{CGROUP_PREFIX}{}", std::process::id()));
        fs::create_dir(&path)
            .with_context(|| format!("cannot create cgroup {}", path.display()))?;
        Ok(BenchCgroup { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for BenchCgroup {
    fn drop(&mut self) {
        remove_cgroup(&self.path);
        if self.path.exists() {
            step!("could not remove cgroup {}", self.path.display());
        }
    }
}

fn remove_cgroup(path: &Path) {
    let procs = || fs::read_to_string(path.join("cgroup.procs")).unwrap_or_default();
    if !procs().trim().is_empty() && fs::write(path.join("cgroup.kill"), "1").is_err() {
        for pid in procs().lines().filter_map(|l| l.trim().parse().ok()) {
            let _ = kill(pid, libc::SIGKILL);
        }
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while fs::remove_dir(path).is_err() && path.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// BPF run-time statistics, enabled for as long as this lives (`BPF_ENABLE_STATS`: the kernel
/// counts the enablers and stops when the last fd closes, even if we crash), so that it neither
/// touches `kernel.bpf_stats_enabled` nor races with anyone else who enables them.
pub struct BpfStats {
    _fd: std::os::fd::OwnedFd,
}

impl BpfStats {
    pub fn enable() -> Result<BpfStats> {
        use std::os::fd::FromRawFd as _;
        const BPF_ENABLE_STATS: libc::c_long = 32;
        const BPF_STATS_RUN_TIME: u32 = 0;
        let attr: [u32; 2] = [BPF_STATS_RUN_TIME, 0];
        // SAFETY: bpf(2) reads `size_of_val(&attr)` bytes from a live, initialised buffer.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                BPF_ENABLE_STATS,
                attr.as_ptr(),
                std::mem::size_of_val(&attr),
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error())
                .context("bpf(BPF_ENABLE_STATS) failed (the kernel needs 5.8 or later)");
        }
        let fd = i32::try_from(fd).context("bpf(BPF_ENABLE_STATS) returned a bad fd")?;
        // SAFETY: a new fd that nothing else owns.
        Ok(BpfStats {
            _fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
        })
    }
}

/// Run-time statistics of a loaded BPF program (`bpftool prog show id N -j`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProgStats {
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub bytes_xlated: u64,
    pub bytes_jited: u64,
}

pub fn prog_stats(id: u64) -> Result<ProgStats> {
    let out =
        cmd::output(Command::new("bpftool").args(["prog", "show", "id", &id.to_string(), "-j"]))?;
    let v: serde_json::Value = serde_json::from_str(out.trim())
        .with_context(|| format!("cannot parse `bpftool prog show id {id} -j`"))?;
    let field = |name: &str| v[name].as_u64().unwrap_or(0);
    Ok(ProgStats {
        run_time_ns: field("run_time_ns"),
        run_cnt: field("run_cnt"),
        bytes_xlated: field("bytes_xlated"),
        bytes_jited: field("bytes_jited"),
    })
}
