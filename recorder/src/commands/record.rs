//! `leastpriv record`: run a command (or watch a cgroup) under the kernel recorder and write a
//! Recording.

use std::path::{Path, PathBuf};

use leastpriv::{
    record::{
        accumulator::DEFAULT_MAX_PATHS,
        cgroup,
        containers::{self, Engine},
        launch::{Confinement, RunAs},
        session::{self, Recorded, What},
    },
    recording::Recording,
};

use super::status_line::StatusLine;
use crate::{
    cli::RecordArgs,
    exit::{BadInput, Exit},
};

pub fn run(args: &RecordArgs) -> anyhow::Result<Exit> {
    args.validate().map_err(BadInput::new)?;
    let container_cgroup = match &args.container {
        Some(wanted) => Some(container_cgroup(args.engine, wanted)?),
        None => None,
    };
    let what = match (&args.cgroup, &container_cgroup) {
        (Some(path), _) => What::Cgroup {
            path,
            duration: args.duration,
            until_empty: false,
        },
        (None, Some(path)) => What::Cgroup {
            path,
            duration: args.duration,
            until_empty: true,
        },
        (None, None) => What::Command {
            argv: &args.command,
            as_root: args.as_root,
            grace: args.grace,
        },
    };
    let mut status_line = (!args.quiet).then(StatusLine::start).flatten();
    let on_progress = status_line
        .as_mut()
        .map(|line| -> session::OnProgress<'_> { Box::new(|progress| line.draw(progress)) });
    let recorded =
        session::record_with_progress(&what, &Confinement::none(), args.max_paths, on_progress);
    drop(status_line);
    let (recording, status) = match recorded? {
        Recorded::Run {
            recording,
            exit_status,
        } => (recording, exit_status),
        Recorded::LaunchFailed(err) => return Ok(Exit::launch_failed(&err)),
    };
    write_recording(&recording, &args.output, args.as_root)?;
    print_summary(&recording, &args.output);
    Ok(Exit::Wrapped(status.into()))
}

/// The cgroup directory of a running container. A container the engines do not know is bad
/// input; an engine that cannot answer is a failure.
fn container_cgroup(engine: Option<Engine>, wanted: &str) -> anyhow::Result<PathBuf> {
    let located = containers::locate(engine, wanted).map_err(|err| {
        if err.is_unknown_container() {
            anyhow::Error::from(BadInput::from(anyhow::Error::from(err)))
        } else {
            anyhow::Error::from(err)
        }
    })?;
    eprintln!(
        "leastpriv: recording {} container {} ({}) from now on: what it did before is not recorded",
        match located.engine {
            Engine::Podman => "podman",
            Engine::Docker => "docker",
        },
        located.name.escape_debug(),
        &located.id[..located.id.len().min(12)]
    );
    Ok(cgroup::cgroup2_mount()?.join(located.cgroup.trim_start_matches('/')))
}

/// Records a command as `check` and `run --complain` do (confined by `confinement`, with the
/// default bounds) and writes the recording to `output` when one is asked for. The command's
/// exit status with the recording, or the exit for a command that could not be started.
pub(crate) fn record_checked_command(
    argv: &[std::ffi::OsString],
    as_root: bool,
    grace: std::time::Duration,
    confinement: &Confinement,
    output: Option<&Path>,
) -> anyhow::Result<Result<(Box<Recording>, u8), Exit>> {
    let what = What::Command {
        argv,
        as_root,
        grace,
    };
    let (recording, exit_status) = match session::record(&what, confinement, DEFAULT_MAX_PATHS)? {
        Recorded::Run {
            recording,
            exit_status,
        } => (recording, exit_status),
        Recorded::LaunchFailed(err) => return Ok(Err(Exit::launch_failed(&err))),
    };
    if let Some(output) = output {
        write_recording(&recording, output, as_root)?;
    }
    Ok(Ok((recording, exit_status)))
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
