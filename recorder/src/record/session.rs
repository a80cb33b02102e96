//! Watching a run: start the command in its cgroup (or open an existing cgroup), attach the
//! kernel programs, feed their events to the accumulator while the workload runs, pass
//! signals on, wait for every process of the cgroup, and hand what was seen to
//! [`assemble`](super::assemble). Nothing of the run outlives it: the programs are detached
//! and the cgroup removed before [`record`] returns.

use std::{
    ffi::OsString,
    io,
    path::Path,
    process::ExitStatus,
    time::{Duration, Instant, SystemTime},
};

use nix::sys::signal::{self, Signal};
use signal_hook::{
    consts::{SIGINT, SIGTERM},
    iterator::{exfiltrator::WithOrigin, SignalsInfo},
    low_level::siginfo::Cause,
};
use tokio::{io::unix::AsyncFd, sync::mpsc};

use super::{
    accumulator::Accumulator,
    assemble::{self, Outcome, RecordError},
    cgroup::{self, Cgroup},
    containers::{self, Follower},
    docker::{self, DockerProxy},
    kernel::{self as kernel_recorder, KernelRecorder},
    launch::{self, Confinement, LaunchError, RunAs},
    observation::Observation,
};
use crate::recording::{LeftRunning, Recording, RunUser, Target};

fn io_error(what: &'static str) -> impl FnOnce(io::Error) -> RecordError {
    move |source| RecordError::Io { what, source }
}

/// How often the cgroup is checked for remaining processes once the command has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How often the event ring buffer is read while it fills slowly. The kernel programs wake
/// the recorder early only once it holds 512 KiB (`WAKEUP_AT_BYTES`, an eighth of the
/// buffer), so that a busy workload does not pay for a wakeup per event; below that, events
/// only wait (nothing in them goes stale), and a rare read keeps an idle recording idle. At
/// 100 ms the timer's wakeups cost 2.5 ms of CPU a second on the 2026-12-05 VM, taken from
/// every other process on the machine.
const DRAIN_INTERVAL: Duration = Duration::from_secs(1);

/// How often a live status is reported, when asked for one ([`record_with_progress`]).
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// What a recording has seen so far, for a live status line. Everything in it is already
/// held in userspace or read from the kernel with a few array lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub elapsed: Duration,
    /// Processes in the recorded cgroup now.
    pub processes: usize,
    /// Distinct syscalls so far (the odd numbers aside, see
    /// [`KernelRecorder::distinct_syscalls_so_far`]).
    pub syscalls: usize,
    pub files: usize,
    pub executables: usize,
    /// Events or paths not recorded so far, all kinds together.
    pub lost: u64,
}

/// Called every [`PROGRESS_INTERVAL`] while the workload runs.
pub type OnProgress<'a> = Box<dyn FnMut(&Progress) + 'a>;

/// What to record.
pub enum What<'a> {
    Command {
        argv: &'a [OsString],
        as_root: bool,
        grace: Duration,
    },
    Cgroup {
        path: &'a Path,
        duration: Option<Duration>,
        /// Stop once the cgroup has no process left (a container that exited).
        until_empty: bool,
    },
}

/// The result of [`record`].
pub enum Recorded {
    /// The run was recorded; `exit_status` is the command's, to exit with.
    Run {
        recording: Box<Recording>,
        exit_status: u8,
    },
    /// The command could not be started.
    LaunchFailed(LaunchError),
}

/// Records a command or a cgroup; the command optionally confined (a seccomp filter in
/// complain mode, applied before it enters the cgroup, so applying it is not part of the
/// recording).
pub fn record(
    what: &What<'_>,
    confinement: &Confinement,
    max_paths: usize,
) -> Result<Recorded, RecordError> {
    record_with_progress(what, confinement, max_paths, None)
}

/// As [`record`], calling `on_progress` a few times a second while the workload runs.
pub fn record_with_progress(
    what: &What<'_>,
    confinement: &Confinement,
    max_paths: usize,
    on_progress: Option<OnProgress<'_>>,
) -> Result<Recorded, RecordError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_error("cannot start the async runtime"))?;
    runtime.block_on(record_async(what, confinement, max_paths, on_progress))
}

async fn record_async(
    what: &What<'_>,
    confinement: &Confinement,
    max_paths: usize,
    on_progress: Option<OnProgress<'_>>,
) -> Result<Recorded, RecordError> {
    // Catch SIGINT/SIGTERM before anything starts, so no signal finds us half set up.
    let mut signals = Signals::install()?;
    kernel_recorder::check_privileges()?;
    let started = SystemTime::now();

    let (cgroup, target) = match what {
        What::Cgroup { path, .. } => {
            let path = std::path::absolute(path).map_err(|source| RecordError::CgroupPath {
                path: path.to_path_buf(),
                source,
            })?;
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
    // A command's moves out of its cgroup are followed into containers, or noted; the
    // containers it asks Docker's daemon to start too, through a proxy.
    let mut proxy = match what {
        What::Cgroup { .. } => None,
        What::Command { .. } => DockerProxy::bind()
            .unwrap_or_else(|err| {
                eprintln!("leastpriv: warning: Docker's containers will not be followed: cannot make a proxy socket for its daemon: {err}");
                None
            }),
    };
    let docker_names = docker::ContainerNames::default();
    let follower = match what {
        What::Cgroup { .. } => None,
        What::Command { .. } => Some(
            Follower::new(&cgroup::cgroup2_mount()?, &cgroup, max_paths)
                .with_docker_names(docker_names.clone()),
        ),
    };
    let extra_env: Vec<(&str, OsString)> = proxy.iter().map(DockerProxy::env).collect();
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
                kernel_recorder::check_can_switch_user(&user.name)?;
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
            let pending =
                launch::start_in_cgroup(argv, run_as.as_ref(), &cgroup, confinement, &extra_env);
            (Some((pending, user, *grace)), None)
        }
    };
    let mut kernel = KernelRecorder::start(&cgroup, follower.is_some())?;
    if let Some(proxy) = &mut proxy {
        proxy
            .serve(kernel.expected_containers()?, docker_names)
            .map_err(io_error("cannot serve the Docker proxy"))?;
    }
    let mut session = Session::new(kernel, max_paths, follower)?;
    session.on_progress = on_progress;
    // An engine's CLI will start a container: its programs load while the CLI prepares it
    // (after ours, which the command waits for).
    if let (What::Command { argv, .. }, Some(follower)) = (what, session.follower.as_mut()) {
        if argv
            .first()
            .is_some_and(|program| containers::is_engine_cli(program))
        {
            follower.expect_container();
        }
    }

    let until_empty = matches!(
        what,
        What::Cgroup {
            until_empty: true,
            ..
        }
    );
    let outcome = match launch {
        None => {
            let until_empty = until_empty.then_some(&cgroup);
            session
                .watch_cgroup(&mut signals, duration, until_empty, &cgroup)
                .await?
        }
        Some((pending, user, grace)) => {
            // The command's forks are noted in the kernel; the command itself is noted here,
            // before it runs, so that it moving itself out is seen too.
            let mut noted = Ok(());
            let kernel = session.kernel.get_mut();
            let released = pending
                .and_then(|p| p.release_noting(|pid| noted = kernel.note_recorded_process(pid)));
            noted?;
            match released {
                Ok(child) => {
                    let mut outcome = session
                        .watch_command(child, &cgroup, &mut signals, grace)
                        .await?;
                    outcome.user = Some(user);
                    outcome
                }
                Err(err) => return Ok(Recorded::LaunchFailed(err)),
            }
        }
    };

    let mut recording = assemble::recording(
        session.kernel.get_ref(),
        &mut session.accumulator,
        target,
        started,
        &outcome,
    )?;
    if let Some(follower) = session.follower.take() {
        (recording.containers, recording.moved_out) = follower.finish(started, &outcome)?;
    }
    // An existing cgroup's processes ran before the programs were attached.
    recording.started_late = matches!(what, What::Cgroup { .. });
    // Detach the programs before the cgroup goes: nothing of ours outlives the run.
    drop(session);
    drop(proxy);
    cgroup.remove()?;
    let exit_status = outcome.exit_status.map_or(0, |s| s.clamp(0, 255) as u8);
    Ok(Recorded::Run {
        recording: Box::new(recording),
        exit_status,
    })
}

/// The kernel recorder (polled for events) plus what has been decoded from it so far, and
/// the containers followed out of it.
struct Session<'a> {
    kernel: AsyncFd<KernelRecorder>,
    accumulator: Accumulator,
    follower: Option<Follower>,
    on_progress: Option<OnProgress<'a>>,
    started: Instant,
}

impl<'a> Session<'a> {
    fn new(
        kernel: KernelRecorder,
        max_paths: usize,
        follower: Option<Follower>,
    ) -> Result<Session<'a>, RecordError> {
        // SAFETY: the ring buffer fd is owned by `kernel`, which the AsyncFd owns: it stays
        // open for as long as it is registered.
        let kernel = unsafe { AsyncFd::register(kernel) }
            .map_err(|e| e.into_parts().1)
            .map_err(io_error("cannot poll the event ring buffer"))?;
        Ok(Session {
            kernel,
            accumulator: Accumulator::with_max_paths(max_paths),
            follower,
            on_progress: None,
            started: Instant::now(),
        })
    }

    /// Tells `on_progress` what was seen so far. A count that cannot be read is left at 0:
    /// the status line is a convenience, and the recording reads everything again at the end.
    fn report_progress(&mut self, cgroup: &Cgroup) {
        let Some(on_progress) = self.on_progress.as_mut() else {
            return;
        };
        let kernel = self.kernel.get_ref();
        let lost = kernel.lost().map_or(0, |lost| lost.total());
        on_progress(&Progress {
            elapsed: self.started.elapsed(),
            processes: cgroup.processes().map_or(0, |p| p.len()),
            syscalls: kernel.distinct_syscalls_so_far().unwrap_or(0),
            files: self.accumulator.file_count(),
            executables: self.accumulator.executable_count(),
            lost: lost + self.accumulator.lost_so_far(),
        });
    }

    fn drain(&mut self) {
        drain_into(
            self.kernel.get_mut(),
            &mut self.accumulator,
            self.follower.as_mut(),
        );
    }

    /// Waits until events are ready, then decodes them all.
    async fn drain_when_ready(&mut self) -> Result<(), RecordError> {
        let mut guard = self
            .kernel
            .readable_mut()
            .await
            .map_err(io_error("polling the event ring buffer"))?;
        drain_into(
            guard.get_inner_mut(),
            &mut self.accumulator,
            self.follower.as_mut(),
        );
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
    ) -> Result<Outcome, RecordError> {
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let mut wait = tokio::task::spawn_blocking(move || child.wait());
        let mut outcome = Outcome::default();
        let mut grace_ends: Option<Instant> = None;
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        let mut drain_tick = tokio::time::interval(DRAIN_INTERVAL);
        let mut progress_tick = tokio::time::interval(PROGRESS_INTERVAL);
        let reports = self.on_progress.is_some();
        loop {
            tokio::select! {
                _ = drain_tick.tick() => self.drain(),
                _ = progress_tick.tick(), if reports => self.report_progress(cgroup),
                status = &mut wait, if grace_ends.is_none() => {
                    let status = status
                        .map_err(|join| io::Error::other(join.to_string()))
                        .and_then(|waited| waited)
                        .map_err(io_error("waiting for the command"))?;
                    outcome.exit_status = exit_code(status);
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

    /// Records an existing cgroup until a signal or the duration ends it, or, given
    /// `until_empty`, once no process is left in it.
    async fn watch_cgroup(
        &mut self,
        signals: &mut Signals,
        duration: Option<Duration>,
        until_empty: Option<&Cgroup>,
        cgroup: &Cgroup,
    ) -> Result<Outcome, RecordError> {
        let deadline = tokio::time::sleep(duration.unwrap_or(Duration::MAX / 4));
        tokio::pin!(deadline);
        match (duration, until_empty) {
            (None, None) => eprintln!("leastpriv: recording; press Ctrl-C to stop"),
            (None, Some(_)) => {
                eprintln!("leastpriv: recording until it exits; press Ctrl-C to stop sooner");
            }
            (Some(_), _) => {}
        }
        let mut outcome = Outcome::default();
        let mut drain_tick = tokio::time::interval(DRAIN_INTERVAL);
        let mut poll = tokio::time::interval(POLL_INTERVAL);
        let mut progress_tick = tokio::time::interval(PROGRESS_INTERVAL);
        let reports = self.on_progress.is_some();
        loop {
            tokio::select! {
                _ = drain_tick.tick() => self.drain(),
                _ = progress_tick.tick(), if reports => self.report_progress(cgroup),
                () = &mut deadline => break,
                _ = poll.tick(), if until_empty.is_some() => {
                    // A cgroup removed with its container reads as empty too.
                    if until_empty.is_some_and(|c| c.processes().map_or(true, |p| p.is_empty())) {
                        break;
                    }
                }
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
}

fn drain_into(
    kernel: &mut KernelRecorder,
    accumulator: &mut Accumulator,
    mut follower: Option<&mut Follower>,
) {
    kernel.drain_events(|observation| match observation {
        Observation::Moved {
            mover_tgid,
            moved_tgid,
            stopped,
            moved_exe,
            path,
            ..
        } => {
            // Not following (`--cgroup`): the kernel stopped no mover, nothing waits.
            if let Some(follower) = follower.as_deref_mut() {
                let executable = accumulator.executable_of(moved_exe);
                follower.on_move(mover_tgid, moved_tgid, stopped, executable, &path);
            }
        }
        observation => accumulator.observe(observation),
    });
    if let Some(follower) = follower {
        follower.drain();
    }
}

/// The command's exit status as shells report it: its code, or 128+N for a signal N.
pub fn exit_code(status: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt as _;
    status.code().or_else(|| status.signal().map(|s| 128 + s))
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
    fn install() -> Result<Signals, RecordError> {
        let mut info = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM])
            .map_err(io_error("cannot catch SIGINT/SIGTERM"))?;
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
            .map_err(io_error("cannot start the signal thread"))?;
        Ok(Signals { receiver })
    }

    async fn next(&mut self) -> Option<Received> {
        self.receiver.recv().await
    }
}
