//! Starting the command inside the run's cgroup so that its own execve is the first thing
//! recorded, as the invoking user when leastpriv was started through sudo.
//!
//! The child cannot put itself in the cgroup without that write (and any privilege drop after
//! it) being recorded as the command's syscalls. So the child drops privileges, tells the
//! parent its pid over a pipe and blocks reading a second pipe; the parent moves it into the
//! cgroup and releases it; the child's next syscall is the execve of the command.

use std::{
    ffi::{CString, OsString},
    io::{self, Read as _, Write as _},
    os::{
        fd::{AsRawFd as _, OwnedFd},
        unix::process::CommandExt as _,
    },
    process::{Child, Command},
    sync::Arc,
    thread,
};

use super::cgroup::{Cgroup, CgroupError};

/// Who the command runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub name: String,
    pub home: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("command not found: {program}")]
    NotFound { program: String },
    #[error("command is not executable: {program}")]
    NotExecutable { program: String },
    #[error("cannot start {program}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("SUDO_UID/SUDO_GID ({value}) is not a user id")]
    BadSudoId { value: String },
    #[error("cannot look up user {uid} in the password database")]
    NoSuchUser { uid: u32 },
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    #[error("cannot set up the command's start-up pipe")]
    Pipe(#[source] io::Error),
}

impl RunAs {
    /// The user who ran `sudo leastpriv ...`, from SUDO_UID and SUDO_GID; `None` when not
    /// started through sudo (or sudo was for root itself).
    pub fn from_sudo_env() -> Result<Option<RunAs>, LaunchError> {
        let (Some(uid), Some(gid)) = (std::env::var_os("SUDO_UID"), std::env::var_os("SUDO_GID"))
        else {
            return Ok(None);
        };
        let parse = |v: &OsString| {
            v.to_str()
                .and_then(|s| s.parse::<u32>().ok())
                .ok_or_else(|| LaunchError::BadSudoId {
                    value: v.to_string_lossy().into_owned(),
                })
        };
        let (uid, gid) = (parse(&uid)?, parse(&gid)?);
        if uid == 0 {
            return Ok(None);
        }
        let user = nix::unistd::User::from_uid(uid.into())
            .ok()
            .flatten()
            .ok_or(LaunchError::NoSuchUser { uid })?;
        let name = CString::new(user.name.clone()).map_err(|_| LaunchError::NoSuchUser { uid })?;
        let groups = nix::unistd::getgrouplist(&name, gid.into())
            .map(|gs| gs.into_iter().map(|g| g.as_raw()).collect())
            .unwrap_or_else(|_| vec![gid]);
        Ok(Some(RunAs {
            uid,
            gid,
            groups,
            name: user.name,
            home: user.dir.to_string_lossy().into_owned(),
        }))
    }
}

/// Starts `argv` up to the handshake and moves it into `cgroup` on threads of their own; the
/// command runs once [`PendingLaunch::release`] lets it. Moving a process between cgroups
/// waits for an RCU grace period (about 15 ms here), so the caller loads the kernel programs
/// meanwhile. A confinement (such as a seccomp filter) is applied before the child enters
/// the cgroup, so that applying it is not recorded as the command's doing. `extra_env` is
/// added to the command's environment.
pub fn start_in_cgroup(
    argv: &[OsString],
    run_as: Option<&RunAs>,
    cgroup: &Cgroup,
    confinement: &Confinement,
    extra_env: &[(&str, OsString)],
) -> Result<PendingLaunch, LaunchError> {
    let program = argv[0].to_string_lossy().into_owned();
    let (mut pid_reader, pid_writer) = pipe()?;
    let (go_reader, go_writer) = pipe()?;

    let mut command = command(argv, run_as);
    for (name, value) in extra_env {
        command.env(name, value);
    }
    let child_side = ChildSide {
        handshake: Some(Handshake {
            pid_writer: pid_writer.as_raw_fd(),
            go_reader: go_reader.as_raw_fd(),
            parent_ends: [pid_reader.as_raw_fd(), go_writer.as_raw_fd()],
        }),
        run_as: run_as.cloned(),
        confinement: confinement.clone(),
    };
    // SAFETY: the closure only makes async-signal-safe syscalls on values prepared before fork.
    unsafe { command.pre_exec(move || child_side.run()) };

    // Command::spawn returns only after the exec, and the exec waits for the go pipe.
    let spawner = thread::spawn(move || {
        let result = command.spawn();
        // Closing our copies lets the reads see end-of-file if the child never wrote.
        drop((pid_writer, go_reader));
        result
    });
    let entry = cgroup.entry();
    let mover = thread::spawn(move || {
        let mut pid_bytes = [0u8; 4];
        match pid_reader.read_exact(&mut pid_bytes) {
            Ok(()) => {
                let pid = u32::from_ne_bytes(pid_bytes);
                entry
                    .add_process(pid)
                    .map(|()| Some(pid))
                    .map_err(LaunchError::from)
            }
            // The child failed before the handshake; spawn's result says why.
            Err(_) => Ok(None),
        }
    });
    Ok(PendingLaunch {
        program,
        go_writer: Some(go_writer),
        spawner: Some(spawner),
        mover: Some(mover),
    })
}

/// A command waiting, in its cgroup, to be let run (see [`start_in_cgroup`]). Dropped
/// without [`release`](PendingLaunch::release), the command exits without running.
pub struct PendingLaunch {
    program: String,
    go_writer: Option<std::fs::File>,
    spawner: Option<thread::JoinHandle<io::Result<Child>>>,
    /// Whether the child reached the handshake and was moved.
    mover: Option<thread::JoinHandle<Result<Option<u32>, LaunchError>>>,
}

impl PendingLaunch {
    /// Waits until the command is in its cgroup, lets it run, and returns it once exec'd (or
    /// why it could not be started).
    pub fn release(self) -> Result<Child, LaunchError> {
        self.release_noting(|_| {})
    }

    /// [`release`](Self::release), calling `note` with the command's pid once it is in its
    /// cgroup and before it runs.
    pub fn release_noting(mut self, note: impl FnOnce(u32)) -> Result<Child, LaunchError> {
        let moved = self
            .mover
            .take()
            .expect("released once")
            .join()
            .expect("the mover thread does not panic");
        let mut go_writer = self.go_writer.take().expect("released once");
        let moved = match moved {
            Ok(Some(pid)) => {
                note(pid);
                go_writer.write_all(b"g").map_err(LaunchError::Pipe)
            }
            Ok(None) => Ok(()),
            // Closing the go pipe unblocks the child with end-of-file: it exits, unrecorded.
            Err(err) => Err(err),
        };
        drop(go_writer);
        let spawned = self
            .spawner
            .take()
            .expect("released once")
            .join()
            .expect("the spawn thread does not panic");
        moved?;
        spawned.map_err(|source| spawn_error(std::mem::take(&mut self.program), source))
    }
}

impl Drop for PendingLaunch {
    fn drop(&mut self) {
        // Not released: end-of-file on the go pipe makes the child exit before its exec, and
        // spawn then reports that (it reaps the child itself).
        drop(self.go_writer.take());
        if let Some(mover) = self.mover.take() {
            let _ = mover.join();
        }
        if let Some(spawner) = self.spawner.take() {
            if let Ok(Ok(mut child)) = spawner.join() {
                let _ = child.wait();
            }
        }
    }
}

/// Starts `argv` as `run_as` under a confinement applied right before exec, as container
/// runtimes do. Nothing is recorded and no privilege is needed.
pub fn spawn_confined(
    argv: &[OsString],
    run_as: Option<&RunAs>,
    confinement: &Confinement,
) -> Result<Child, LaunchError> {
    let program = argv[0].to_string_lossy().into_owned();
    let mut command = command(argv, run_as);
    let child_side = ChildSide {
        handshake: None,
        run_as: run_as.cloned(),
        confinement: confinement.clone(),
    };
    // SAFETY: the closure only makes async-signal-safe syscalls on values prepared before fork.
    unsafe { command.pre_exec(move || child_side.run()) };
    command
        .spawn()
        .map_err(|source| spawn_error(program, source))
}

fn command(argv: &[OsString], run_as: Option<&RunAs>) -> Command {
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]);
    if let Some(user) = run_as {
        command
            .env("HOME", &user.home)
            .env("USER", &user.name)
            .env("LOGNAME", &user.name);
    }
    command
}

/// Exec failures as a shell reports them.
fn spawn_error(program: String, source: io::Error) -> LaunchError {
    match source.kind() {
        io::ErrorKind::NotFound => LaunchError::NotFound { program },
        io::ErrorKind::PermissionDenied => LaunchError::NotExecutable { program },
        _ => LaunchError::Spawn { program, source },
    }
}

/// One thing applied to the command in the child, between fork and exec: a capability set,
/// a seccomp filter. Implemented by `enforce`, which knows what they are; launching only
/// knows when each part runs. Implementations are plain data prepared before fork, and
/// every method makes only async-signal-safe syscalls (no allocation, no locks).
pub trait PreExec: std::fmt::Debug + Send + Sync {
    /// Before the change of user, while the caller's privileges are still there.
    fn before_user_change(&self) -> io::Result<()> {
        Ok(())
    }
    /// Whether the permitted capabilities must survive the change of user.
    fn keeps_capabilities(&self) -> bool {
        false
    }
    /// After the change of user, right before exec (and before the cgroup handshake).
    fn after_user_change(&self) -> io::Result<()> {
        Ok(())
    }
}

/// What is applied to a command right before exec, in order: each step's
/// [`PreExec::after_user_change`] runs in the order given, so a seccomp filter goes last
/// (it must not see the other steps' syscalls).
#[derive(Debug, Clone, Default)]
pub struct Confinement {
    steps: Vec<Arc<dyn PreExec>>,
}

impl Confinement {
    /// Nothing applied.
    pub fn none() -> Confinement {
        Confinement::default()
    }

    /// Adds a step after those already given.
    #[must_use]
    pub fn then(mut self, step: impl PreExec + 'static) -> Confinement {
        self.steps.push(Arc::new(step));
        self
    }

    fn keeps_capabilities(&self) -> bool {
        self.steps.iter().any(|s| s.keeps_capabilities())
    }
}

/// What the child does between fork and exec. Plain data prepared before fork.
struct ChildSide {
    handshake: Option<Handshake>,
    run_as: Option<RunAs>,
    confinement: Confinement,
}

/// The child's ends of the pipes to the parent (and the parent's ends, to close).
struct Handshake {
    pid_writer: i32,
    go_reader: i32,
    parent_ends: [i32; 2],
}

impl ChildSide {
    fn run(&self) -> io::Result<()> {
        // SAFETY: plain syscalls on fds and ids owned by this process; nothing allocates.
        unsafe {
            if let Some(handshake) = &self.handshake {
                for fd in handshake.parent_ends {
                    libc::close(fd);
                }
            }
            for step in &self.confinement.steps {
                step.before_user_change()?;
            }
            if let Some(user) = &self.run_as {
                if self.confinement.keeps_capabilities() {
                    // Keep the permitted set through the change of user.
                    check(libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0))?;
                }
                check(libc::setgroups(user.groups.len(), user.groups.as_ptr()))?;
                check(libc::setresgid(user.gid, user.gid, user.gid))?;
                check(libc::setresuid(user.uid, user.uid, user.uid))?;
            }
            for step in &self.confinement.steps {
                step.after_user_change()?;
            }
            if let Some(handshake) = &self.handshake {
                let pid = libc::getpid() as u32;
                let bytes = pid.to_ne_bytes();
                if libc::write(handshake.pid_writer, bytes.as_ptr().cast(), bytes.len()) != 4 {
                    return Err(io::Error::last_os_error());
                }
                let mut go = 0u8;
                if libc::read(handshake.go_reader, (&raw mut go).cast(), 1) != 1 {
                    // The parent could not move us into the cgroup: do not run unrecorded.
                    return Err(io::Error::other(
                        "leastpriv could not place the command in its cgroup",
                    ));
                }
            }
        }
        Ok(())
    }
}

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn pipe() -> Result<(std::fs::File, std::fs::File), LaunchError> {
    let (reader, writer): (OwnedFd, OwnedFd) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| LaunchError::Pipe(e.into()))?;
    Ok((reader.into(), writer.into()))
}
