//! `leastpriv merge REC... -o OUT`.

use leastpriv::recording::{merge, Recording};

use crate::cli::MergeArgs;
use crate::exit::Exit;

pub fn run(args: &MergeArgs) -> anyhow::Result<Exit> {
    let mut recordings = Vec::with_capacity(args.recordings.len());
    for path in &args.recordings {
        // A recording made before run ids existed is known by its file name.
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        recordings.push((Recording::read(path)?, name));
    }
    let merged = merge::merge(&recordings)?;
    merged.write(&args.output)?;
    eprintln!(
        "leastpriv: merged {} runs: {} distinct syscalls, {} files; written to {}",
        merged.runs.len(),
        merged.distinct_syscalls(),
        merged.files.as_ref().map_or(0, Vec::len),
        args.output.display()
    );
    Ok(Exit::Success)
}
