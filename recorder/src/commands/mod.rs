//! One file per verb; each returns the process exit status.

mod check;
mod completions;
mod diff;
mod generate;
mod merge;
mod record;
mod run;
mod show;
mod status_line;

use crate::{
    cli::{Command, GenerateCommand},
    exit::Exit,
};

pub fn run(command: Command) -> anyhow::Result<Exit> {
    match command {
        Command::Record(args) => record::run(&args),
        Command::Show(args) => show::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Generate(GenerateCommand::Seccomp(args)) => generate::seccomp(&args),
        Command::Generate(GenerateCommand::Capabilities(args)) => generate::capabilities(&args),
        Command::Generate(GenerateCommand::Apparmor(args)) => generate::apparmor(&args),
        Command::Generate(GenerateCommand::K8s(args)) => generate::k8s(&args),
        Command::Generate(GenerateCommand::Systemd(args)) => generate::systemd(&args),
        Command::Generate(GenerateCommand::Selinux(args)) => generate::selinux(&args),
        Command::Generate(GenerateCommand::Landlock(args)) => generate::landlock(&args),
        Command::Run(args) => run::run(&args),
        Command::BenchFloor(args) => bench_floor(&args),
        Command::Completions(args) => completions::completions(&args),
        Command::ManPages(args) => completions::man_pages(&args),
    }
}

/// Holds the empty floor program attached; prints `attached` once it is, for scripts to wait on.
fn bench_floor(args: &crate::cli::BenchFloorArgs) -> anyhow::Result<Exit> {
    let mut signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
    ])?;
    let floor = leastpriv::record::kernel::FloorProgram::attach()?;
    println!("attached");
    // A signal ends the wait early, duration or not: caught here, it would otherwise be
    // swallowed until the duration ran out.
    let (signalled, wait) = std::sync::mpsc::channel();
    let handle = signals.handle();
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = signalled.send(());
        }
    });
    match args.duration {
        Some(duration) => {
            let _ = wait.recv_timeout(duration);
        }
        None => {
            let _ = wait.recv();
        }
    }
    handle.close();
    drop(floor);
    Ok(Exit::Success)
}
