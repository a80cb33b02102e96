//! One file per verb; each returns the process exit status.

mod record;
mod show;

use crate::cli::Command;

pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Record(args) => record::run(&args),
        Command::Show(args) => show::run(&args),
    }
}
