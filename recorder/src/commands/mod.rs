//! One file per verb; each returns the process exit status.

mod generate;
mod record;
mod run;
mod show;

use crate::cli::{Command, GenerateCommand};

pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Record(args) => record::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Generate(GenerateCommand::Seccomp(args)) => generate::seccomp(&args),
        Command::Run(args) => run::run(&args),
    }
}
