//! `leastpriv record`: run a command (or watch a cgroup) under the kernel recorder and write a
//! Recording.

use std::{
    ffi::OsString,
    path::Path,
    process::ExitStatus,
    time::{Duration, Instant, SystemTime},
};

use anyhow::Context as _;
use leastpriv::{
    capability_checks::KernelSymbols,
    cgroup::{self, Cgroup},
    enforce::seccomp::SeccompProgram,
    kernel::KernelRecorder,
    launch::{self, LaunchError, PendingLaunch, RunAs},
    observed::Observed,
    recording::{self, Host, LeftRunning, Recording, Target, Tool},
    recording::{EscalatingProgram, FileAccess, RunUser},
};
use nix::sys::signal::{self, Signal};
use signal_hook::{
    consts::{SIGINT, SIGTERM},
    iterator::{exfiltrator::WithOrigin, SignalsInfo},
    low_level::siginfo::Cause,
};
use tokio::{io::unix::AsyncFd, sync::mpsc};

use crate::cli::RecordArgs;

/// How often the cgroup is checked for remaining processes once the command has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How often the event ring buffer is read while it fills slowly. The kernel programs wake
/// the recorder early only once it holds 512 KiB (`WAKEUP_AT_BYTES`, an eighth of the
/// buffer), so that a busy workload does not pay for a wakeup per event; below that, events
/// only wait (nothing in them goes stale), and a rare read keeps an idle recording idle. At
/// 100 ms the timer's wakeups cost 2.5 ms of CPU a second on the 2026-12-05 VM, taken from
/// every other process on the machine.
const DRAIN_INTERVAL: Duration = Duration::from_secs(1);

pub fn run(args: &RecordArgs) -> anyhow::Result<u8> {
    args.validate().map_err(anyhow::Error::msg)?;
    let what = match &args.cgroup {
        Some(path) => What::Cgroup {
            path,
            duration: args.duration,
        },
        None => What::Command {
            argv: &args.command,
            as_root: args.as_root,
            grace: args.grace,
        },
    };
    let (recording, status) = match record(&what, None, args.max_paths)? {
        Recorded::Run {
            recording,
            exit_status,
        } => (recording, exit_status),
        Recorded::LaunchFailed { exit_status } => return Ok(exit_status),
    };
    write_recording(&recording, &args.output, args.as_root)?;
    print_summary(&recording, &args.output);
    Ok(status)
}

/// What to record.
pub(crate) enum What<'a> {
    Command {
        argv: &'a [OsString],
        as_root: bool,
        grace: Duration,
    },
    Cgroup {
        path: &'a Path,
        duration: Option<Duration>,
    },
}

/// The result of [`record`].
pub(crate) enum Recorded {
    /// The run was recorded; `exit_status` is the command's, to exit with.
    Run {
        recording: Box<Recording>,
        exit_status: u8,
    },
    /// The command could not be started (the reason has been printed).
    LaunchFailed { exit_status: u8 },
}

/// Records a command or a cgroup; the command optionally under a seccomp filter (installed
/// before it enters the cgroup, so installing it is not part of the recording).
pub(crate) fn record(
    what: &What<'_>,
    seccomp: Option<&SeccompProgram>,
    max_paths: usize,
) -> anyhow::Result<Recorded> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(record_async(what, seccomp, max_paths))
}

async fn record_async(
    what: &What<'_>,
    seccomp: Option<&SeccompProgram>,
    max_paths: usize,
) -> anyhow::Result<Recorded> {
    // Catch SIGINT/SIGTERM before anything starts, so no signal finds us half set up.
    let mut signals = Signals::install()?;
    leastpriv::kernel::check_privileges()?;
    let started = SystemTime::now();

    let (cgroup, target) = match what {
        What::Cgroup { path, .. } => {
            let path = std::path::absolute(path)
                .with_context(|| format!("bad cgroup path {}", path.display()))?;
            (
                Cgroup::open_existing(&path)?,
                Target::Cgroup(path.to_string_lossy().into_owned()),
            )
        }
        What::Command { argv, .. } => {
            let mount = cgroup::cgroup2_mount()?;
            let argv = argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            (Cgroup::create_for_run(&mount)?, Target::Command(argv))
        }
    };
    // A command is started up to its handshake and moved into the cgroup while the kernel
    // programs load: both wait on the kernel (the move for an RCU grace period, the load for
    // the verifier). It runs once the programs are attached.
    let (launch, duration) = match what {
        What::Cgroup { duration, .. } => (None, *duration),
        What::Command {
            argv,
            as_root,
            grace,
        } => {
            let run_as = if *as_root {
                None
            } else {
                RunAs::from_sudo_env()?
            };
            if let Some(user) = &run_as {
                leastpriv::kernel::check_can_switch_user(&user.name)?;
            }
            let user = match &run_as {
                Some(user) => RunUser {
                    uid: user.uid,
                    gid: user.gid,
                },
                None => RunUser {
                    uid: nix::unistd::getuid().as_raw(),
                    gid: nix::unistd::getgid().as_raw(),
                },
            };
            let pending = launch::start_in_cgroup(argv, run_as.as_ref(), &cgroup, seccomp);
            (Some((pending, user, *grace)), None)
        }
    };
    let kernel = KernelRecorder::start(&cgroup)?;
    let mut session = Session::new(kernel, max_paths)?;

    let outcome = match launch {
        None => session.watch_cgroup(&mut signals, duration).await?,
        Some((pending, user, grace)) => match pending.and_then(PendingLaunch::release) {
            Ok(child) => {
                let mut outcome = session
                    .watch_command(child, &cgroup, &mut signals, grace)
                    .await?;
                outcome.user = Some(user);
                outcome
            }
            Err(err) => {
                return Ok(Recorded::LaunchFailed {
                    exit_status: launch_failure(&err),
                })
            }
        },
    };

    let recording = session.finish(target, started, &outcome)?;
    // Detach the programs before the cgroup goes: nothing of ours outlives the run.
    drop(session);
    cgroup.remove()?;
    let exit_status = outcome.exit_status.map_or(0, |s| s.clamp(0, 255) as u8);
    Ok(Recorded::Run {
        recording: Box::new(recording),
        exit_status,
    })
}

/// Writes the recording; when started through sudo, gives it to the invoking user so that
/// they can overwrite it next time.
pub(crate) fn write_recording(
    recording: &Recording,
    output: &Path,
    as_root: bool,
) -> anyhow::Result<()> {
    recording.write(output)?;
    if let Some(user) = RunAs::from_sudo_env().ok().flatten().filter(|_| !as_root) {
        let _ = nix::unistd::chown(output, Some(user.uid.into()), Some(user.gid.into()));
    }
    Ok(())
}

/// Exit statuses for a command that could not start, as shells use them.
pub(crate) fn launch_failure(err: &LaunchError) -> u8 {
    eprintln!("leastpriv: {err}");
    match err {
        LaunchError::NotFound { .. } => 127,
        LaunchError::NotExecutable { .. } => 126,
        _ => crate::EXIT_LEASTPRIV_FAILED,
    }
}

/// How a watched run ended.
#[derive(Debug, Default)]
struct Outcome {
    exit_status: Option<i32>,
    /// The signal that interrupted the recording, if one did.
    interrupted_by: Option<Signal>,
    left_running: Vec<LeftRunning>,
    /// Who the command ran as.
    user: Option<RunUser>,
}

/// The kernel recorder (polled for events) plus what has been decoded from it so far.
struct Session {
    kernel: AsyncFd<KernelRecorder>,
    observed: Observed,
}

impl Session {
    fn new(kernel: KernelRecorder, max_paths: usize) -> anyhow::Result<Session> {
        // SAFETY: the ring buffer fd is owned by `kernel`, which the AsyncFd owns: it stays
        // open for as long as it is registered.
        let kernel = unsafe { AsyncFd::register(kernel) }
            .map_err(|e| e.into_parts().1)
            .context("cannot poll the event ring buffer")?;
        Ok(Session {
            kernel,
            observed: Observed::with_max_paths(max_paths),
        })
    }

    fn drain(&mut self) {
        drain_into(self.kernel.get_mut(), &mut self.observed);
    }

    /// Waits until events are ready, then decodes them all.
    async fn drain_when_ready(&mut self) -> anyhow::Result<()> {
        let mut guard = self
            .kernel
            .readable_mut()
            .await
            .context("polling the event ring buffer")?;
        drain_into(guard.get_inner_mut(), &mut self.observed);
        guard.clear_ready();
        Ok(())
    }

    /// Runs until the command has exited and its cgroup is empty (or the grace period ends).
    async fn watch_command(
        &mut self,
        mut child: std::process::Child,
        cgroup: &Cgroup,
        signals: &mut Signals,
        grace: Duration,
    ) -> anyhow::Result<Outcome> {
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let mut wait = tokio::task::spawn_blocking(move || child.wait());
        let mut outcome = Outcome::default();
        let mut grace_ends: Option<Instant> = None;
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        let mut drain_tick = tokio::time::interval(DRAIN_INTERVAL);
        loop {
            tokio::select! {
                _ = drain_tick.tick() => self.drain(),
                status = &mut wait, if grace_ends.is_none() => {
                    let status = status.context("waiting for the command")?.context("waiting for the command")?;
                    outcome.exit_status = Some(exit_code(status));
                    grace_ends = Some(Instant::now() + grace);
                }
                Some(received) = signals.next() => {
                    if outcome.interrupted_by.is_some() || grace_ends.is_some() {
                        // Asked twice, or asked while only leftovers run: stop now.
                        cgroup.kill_all()?;
                    } else if received.forward {
                        if let Err(err) = signal::kill(pid, received.signal) {
                            eprintln!("leastpriv: warning: cannot pass {} on to the command: {err} (passing signals to another user's process needs CAP_KILL)", received.signal.as_str());
                        }
                    }
                    outcome.interrupted_by.get_or_insert(received.signal);
                }
                drained = self.drain_when_ready() => drained?,
                _ = tick.tick(), if grace_ends.is_some() => {
                    let remaining = cgroup.processes()?;
                    if remaining.is_empty() {
                        break;
                    }
                    if grace_ends.is_some_and(|end| Instant::now() >= end) {
                        outcome.left_running = describe(&remaining);
                        let names: Vec<String> = outcome.left_running.iter().map(|p| format!("{} ({})", p.pid, p.comm)).collect();
                        eprintln!("leastpriv: still running after the {} grace period, killing: {}",
                            humantime::format_duration(grace), names.join(", "));
                        cgroup.kill_all()?;
                        break;
                    }
                }
            }
        }
        self.drain();
        Ok(outcome)
    }

    /// Records an existing cgroup until a signal or the duration ends it.
    async fn watch_cgroup(
        &mut self,
        signals: &mut Signals,
        duration: Option<Duration>,
    ) -> anyhow::Result<Outcome> {
        let deadline = tokio::time::sleep(duration.unwrap_or(Duration::MAX / 4));
        tokio::pin!(deadline);
        if duration.is_none() {
            eprintln!("leastpriv: recording; press Ctrl-C to stop");
        }
        let mut outcome = Outcome::default();
        let mut drain_tick = tokio::time::interval(DRAIN_INTERVAL);
        loop {
            tokio::select! {
                _ = drain_tick.tick() => self.drain(),
                () = &mut deadline => break,
                Some(received) = signals.next() => {
                    // Stopping a cgroup recording at Ctrl-C is the normal end, not an interruption.
                    if duration.is_some() {
                        outcome.interrupted_by = Some(received.signal);
                    }
                    break;
                }
                drained = self.drain_when_ready() => drained?,
            }
        }
        self.drain();
        Ok(outcome)
    }

    fn finish(
        &mut self,
        target: Target,
        started: SystemTime,
        outcome: &Outcome,
    ) -> anyhow::Result<Recording> {
        let files = self.observed.take_files();
        let escalating_programs = escalating_programs(&files);
        let over_limit = self.observed.over_limit();
        if let Some(over) = &over_limit {
            report_over_limit(over);
        }
        let kernel = self.kernel.get_ref();
        let by_exe = kernel.syscalls_by_exe()?;
        let counts = kernel.syscall_counts()?;
        let makers = self.observed.makers(&by_exe);
        let capabilities = match kernel.capability_checks()? {
            Some(checks) => {
                // Symbols only when there is a stack to name (reading kallsyms takes a moment).
                let mut checks = checks;
                let symbols = if checks.iter().any(|c| c.stack.is_some()) {
                    let ips = checks
                        .iter()
                        .filter_map(|c| c.stack.as_ref())
                        .flatten()
                        .copied()
                        .collect();
                    match KernelSymbols::for_addresses(&ips).context("reading /proc/kallsyms")? {
                        Some(symbols) => symbols,
                        None => {
                            // Without names the stacks cannot tell probes from needs: say so,
                            // and let every check count as an unknown (so as a need).
                            eprintln!("leastpriv: warning: /proc/kallsyms hides kernel addresses from leastpriv (kptr_restrict; it needs CAP_SYSLOG): capability checks cannot be told probe from need, and all count as needs");
                            for check in &mut checks {
                                check.stack = None;
                            }
                            KernelSymbols::default()
                        }
                    }
                } else {
                    KernelSymbols::default()
                };
                Some(self.observed.capability_checks(&checks, &symbols))
            }
            None => None,
        };
        let mut lost = kernel.lost()?;
        lost.unresolved_paths = self.observed.unresolved_paths;
        lost.file_paths = over_limit.map_or(0, |o| o.accesses);
        let uname = nix::sys::utsname::uname().context("uname")?;
        Ok(Recording {
            format: recording::FORMAT.into(),
            version: recording::VERSION,
            tool: Tool::current(),
            host: Host {
                kernel: uname.release().to_string_lossy().into_owned(),
                arch: uname.machine().to_string_lossy().into_owned(),
            },
            target,
            started_at: timestamp(started),
            finished_at: timestamp(SystemTime::now()),
            complete: outcome.interrupted_by.is_none(),
            run_id: Some(new_run_id()),
            runs: vec![],
            incomplete_reason: outcome
                .interrupted_by
                .map(|s| format!("interrupted by {}", s.as_str())),
            exit_status: outcome.exit_status,
            syscalls: recording::syscall_entries(&counts, &makers),
            executables: self.observed.executables(),
            files: Some(files),
            sockets: Some(self.observed.sockets()),
            capabilities,
            arguments: Some(self.observed.arguments(&kernel.argument_values()?)),
            user: outcome.user,
            escalating_programs,
            left_running: outcome.left_running.clone(),
            lost,
        })
    }
}

/// Tells the user which accesses `--max-paths` kept out of the recording, and where.
fn report_over_limit(over: &leastpriv::observed::OverLimit) {
    let mut places: Vec<String> = over
        .directories
        .iter()
        .map(|(dir, n)| format!("{n} in \"{}\"", dir.escape_debug()))
        .collect();
    let named: u64 = over.directories.iter().map(|(_, n)| n).sum();
    if named < over.accesses {
        places.push(format!("{} elsewhere", over.accesses - named));
    }
    eprintln!(
        "leastpriv: WARNING: kept the first {} distinct file paths (--max-paths); {} accesses to further paths were counted, not kept: {}. Profiles made from this recording lack those paths; record again with a higher --max-paths to keep them",
        over.max_paths,
        over.accesses,
        places.join(", ")
    );
}

fn drain_into(kernel: &mut KernelRecorder, observed: &mut Observed) {
    kernel.drain_events(|observation| observed.observe(observation));
}

/// Executed programs (exec accesses) that can raise privileges, from their files as they
/// are now (right after the run).
fn escalating_programs(files: &[FileAccess]) -> Vec<EscalatingProgram> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut out = Vec::new();
    for file in files
        .iter()
        .filter(|f| f.access.contains(leastpriv::recording::Access::Exec) && f.path_hex.is_none())
    {
        let Ok(meta) = std::fs::metadata(&file.path) else {
            continue;
        };
        let mode = meta.permissions().mode();
        let file_capabilities = has_file_capabilities(&file.path);
        let program = EscalatingProgram {
            path: file.path.clone(),
            setuid: mode & 0o4000 != 0,
            setgid: mode & 0o2000 != 0,
            file_capabilities,
        };
        if program.setuid || program.setgid || program.file_capabilities {
            out.push(program);
        }
    }
    out
}

/// Whether the file carries a `security.capability` extended attribute.
fn has_file_capabilities(path: &str) -> bool {
    let Ok(path) = std::ffi::CString::new(path) else {
        return false;
    };
    // SAFETY: a size query (null buffer, size 0) on a valid C string.
    unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"security.capability".as_ptr(),
            std::ptr::null_mut(),
            0,
        ) >= 0
    }
}

/// A random id for this run (64 bits from the kernel's random pool, in hex).
fn new_run_id() -> String {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom(2) writes at most `len` bytes into the buffer.
    let filled = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) } == 8;
    if !filled {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes = ((nanos as u64) ^ u64::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 128+N for a signal, as shells report it.
pub(crate) fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt as _;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(crate::EXIT_LEASTPRIV_FAILED.into())
}

fn timestamp(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

fn describe(pids: &[u32]) -> Vec<LeftRunning> {
    pids.iter()
        .map(|&pid| LeftRunning {
            pid,
            comm: std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|c| c.trim_end().to_owned())
                .unwrap_or_default(),
        })
        .collect()
}

fn print_summary(recording: &Recording, output: &Path) {
    let per_abi: Vec<String> = recording
        .syscalls
        .iter()
        .map(|(abi, e)| format!("{abi}: {}", e.len()))
        .collect();
    eprintln!(
        "leastpriv: recorded {} distinct syscalls ({}) and {} executables",
        recording.distinct_syscalls(),
        if per_abi.is_empty() {
            "none".into()
        } else {
            per_abi.join(", ")
        },
        recording.executables.len(),
    );
    let lost = &recording.lost;
    if !lost.is_nothing() {
        eprintln!(
            "leastpriv: WARNING: lost {}; the recording is not exact",
            lost.describe()
        );
    }
    if let Some(reason) = &recording.incomplete_reason {
        eprintln!("leastpriv: the recording is incomplete: {reason}");
    }
    eprintln!("leastpriv: recording written to {}", output.display());
}

/// A signal for leastpriv, and whether it should be passed on to the command.
struct Received {
    signal: Signal,
    /// False when the kernel sent it (Ctrl-C at a terminal): the command, in the same
    /// foreground process group, got its own copy.
    forward: bool,
}

/// SIGINT and SIGTERM, caught on a thread and handed to the async loop.
struct Signals {
    receiver: mpsc::UnboundedReceiver<Received>,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        let mut info = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM])
            .context("cannot catch SIGINT/SIGTERM")?;
        let (sender, receiver) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for origin in info.forever() {
                    let Ok(signal) = Signal::try_from(origin.signal) else {
                        continue;
                    };
                    let forward = !matches!(origin.cause, Cause::Kernel);
                    if sender.send(Received { signal, forward }).is_err() {
                        break;
                    }
                }
            })
            .context("cannot start the signal thread")?;
        Ok(Signals { receiver })
    }

    async fn next(&mut self) -> Option<Received> {
        self.receiver.recv().await
    }
}
