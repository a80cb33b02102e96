//! `leastpriv record`: run a command (or watch a cgroup) under the kernel recorder and write a
//! Recording.

use std::path::Path;

use leastpriv::{
    record::{
        launch::{Confinement, RunAs},
        session::{self, Recorded, What},
    },
    recording::Recording,
};

use crate::{cli::RecordArgs, exit::Exit};

pub fn run(args: &RecordArgs) -> anyhow::Result<Exit> {
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
    let (recording, status) = match session::record(&what, &Confinement::none(), args.max_paths)? {
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
