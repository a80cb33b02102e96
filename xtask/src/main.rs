//! `cargo xtask`: the project's tasks, so that a fresh clone needs nothing but cargo (and root
//! for the Debian packages) to build, test and try the recorder. See `cargo xtask --help`.

mod bench;
mod cmd;
mod dist;
mod fuzz;
mod packages;
mod python;
mod toolchain;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use cmd::step;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Parser)]
#[command(
    bin_name = "cargo xtask",
    about = "leastpriv project tasks: setup, build, test, dist, record, bench"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what building and testing need: nightly with rust-src, bpf-linker (cached),
    /// and the Debian packages the tests use.
    Setup {
        /// Skip the Debian packages (toolchain only; needs no root).
        #[arg(long)]
        no_packages: bool,
    },
    /// Build the recorder (with its eBPF programs) in release mode and print the binary's path.
    Build,
    /// Set up everything, build, and run the whole test suite: the project's one test command.
    Test {
        /// Seconds to fuzz each fuzz target after the tests (0: skip fuzzing).
        #[arg(long, default_value_t = 10, value_name = "N")]
        fuzz_seconds: u64,
        /// Extra arguments for `cargo test` (after `--`).
        #[arg(last = true, value_name = "CARGO_TEST_ARGS")]
        args: Vec<String>,
    },
    /// Build the Debian package: the release binary, a man page per command, bash, zsh and
    /// fish completions and the docs; prints the .deb's path (target/dist/).
    Dist,
    /// Rewrite the golden files in tests/golden from the fixtures (after an intended change to
    /// a generator; review the diff).
    Bless,
    /// Build, record a command with `leastpriv record`, and show the recording.
    Record {
        /// Where to write the recording [default: target/leastpriv/demo.recording.json].
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// The command to record (after `--`).
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Fuzz every target in fuzz/ for a while each (installs cargo-fuzz if missing).
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60, value_name = "N")]
        seconds: u64,
    },
    /// Measure what recording costs on this machine (as root, several minutes) and rewrite
    /// BENCHMARKS.md with the results.
    Bench {
        /// Alternating rounds per benchmark (medians and ratios are taken over them).
        #[arg(long, default_value_t = 7)]
        rounds: usize,
        /// Run only these benchmarks (their numbers, as in BENCHMARKS.md: 1, 2, 3 (with 5),
        /// 3b, 4, 6, 7, 8, 9, 9b, costs), and write the report to target/bench/BENCHMARKS.only.md
        /// instead of rewriting BENCHMARKS.md: for working on one of them.
        #[arg(long, value_delimiter = ',', value_name = "N,...")]
        only: Vec<String>,
    },
}

fn main() {
    let cli = Cli::parse();
    match run(cli.task) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("xtask: error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  because: {cause}");
            }
            std::process::exit(1);
        }
    }
}

/// Runs a task and returns the exit code to leave with.
fn run(task: Task) -> Result<i32> {
    match task {
        Task::Setup { no_packages } => {
            toolchain::ensure()?;
            if !no_packages {
                packages::ensure(packages::BUILD_PACKAGES)?;
                packages::ensure(packages::TEST_PACKAGES)?;
            }
            step!("setup done");
            Ok(0)
        }
        Task::Build => {
            let bin = build(&toolchain::ensure()?)?;
            println!("{}", bin.display());
            Ok(0)
        }
        Task::Test { fuzz_seconds, args } => test(fuzz_seconds, &args),
        Task::Dist => {
            let linker_dir = toolchain::ensure()?;
            let bin = build(&linker_dir)?;
            let deb = dist::build_deb(&root(), &target_dir(), &bin)?;
            println!("{}", deb.display());
            Ok(0)
        }
        Task::Bless => bless(),
        Task::Record { output, command } => record(output, &command),
        Task::Fuzz { seconds } => {
            fuzz::run(&root(), &toolchain::ensure()?, seconds)?;
            Ok(0)
        }
        Task::Bench { rounds, only } => bench::run(bench::Options { rounds, only }),
    }
}

/// The workspace root: xtask lives one level below it.
fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Cargo's target directory: $CARGO_TARGET_DIR when set (as cargo itself honours it), else
/// target/ in the workspace.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// cargo as it ran us (same toolchain), falling back to the one on PATH.
fn cargo(linker_dir: &Path) -> Result<Command> {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // recorder/build.rs builds the eBPF crate, and that build looks for bpf-linker on PATH.
    cmd.current_dir(root())
        .env("PATH", cmd::path_with(linker_dir)?);
    Ok(cmd)
}

/// `cargo build --release --package leastpriv`; returns the absolute path of the binary.
fn build(linker_dir: &Path) -> Result<PathBuf> {
    packages::ensure(packages::BUILD_PACKAGES)?;
    step!("building leastpriv (release)");
    cmd::run(cargo(linker_dir)?.args(["build", "--release", "--package", "leastpriv"]))
        .context("building leastpriv failed; see cargo's output above")?;
    let bin = target_dir().join("release/leastpriv");
    if !bin.is_file() {
        anyhow::bail!(
            "cargo reported success but {} does not exist",
            bin.display()
        );
    }
    Ok(bin)
}

/// Runs the golden-file test in bless mode, which writes what the generators produce now.
fn bless() -> Result<i32> {
    let linker_dir = toolchain::ensure()?;
    let bin = build(&linker_dir)?;
    step!("rewriting tests/golden from tests/fixtures");
    let status = cmd::status(
        cargo(&linker_dir)?
            .args([
                "test",
                "--release",
                "--package",
                "leastpriv-tests",
                "--test",
                "golden",
            ])
            .env("LEASTPRIV_BIN", &bin)
            .env("LEASTPRIV_BLESS", "1"),
    )?;
    Ok(cmd::exit_code(status))
}

fn test(fuzz_seconds: u64, args: &[String]) -> Result<i32> {
    let linker_dir = toolchain::ensure()?;
    packages::ensure(packages::TEST_PACKAGES)?;
    let python_bin = python::ensure(&root())?;
    let bin = build(&linker_dir)?;
    // The package test installs this .deb and runs leastpriv from it.
    let deb = dist::build_deb(&root(), &target_dir(), &bin)?;
    step!(
        "running tests with LEASTPRIV_BIN={} LEASTPRIV_DEB={}",
        bin.display(),
        deb.display()
    );
    let status = cmd::status(
        cargo(&linker_dir)?
            // The eBPF crate only builds for bpfel-unknown-none (recorder/build.rs does that);
            // as a host test binary it has no `main` and cannot link.
            .args([
                "test",
                "--workspace",
                "--exclude",
                "recorder-ebpf",
                "--release",
            ])
            .args(args)
            .env("LEASTPRIV_BIN", &bin)
            .env("LEASTPRIV_DEB", &deb)
            .env(
                "LEASTPRIV_K8S_VALIDATE",
                python_bin.join("kubernetes-validate"),
            )
            .env("LEASTPRIV_PYTHON", python_bin.join("python")),
    )?;
    if !status.success() {
        step!("tests failed ({status})");
        return Ok(cmd::exit_code(status));
    }
    if fuzz_seconds > 0 {
        fuzz::run(&root(), &linker_dir, fuzz_seconds)?;
    }
    Ok(0)
}

fn record(output: Option<PathBuf>, command: &[String]) -> Result<i32> {
    let bin = build(&toolchain::ensure()?)?;
    let file = match output {
        // Relative to where the user is, as any other path on a command line.
        Some(f) => std::env::current_dir()
            .context("cannot read the current directory")?
            .join(f),
        None => root().join("target/leastpriv/demo.recording.json"),
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    // A file left from an earlier run must not pass for this run's recording.
    let _ = std::fs::remove_file(&file);

    // Loading BPF programs needs root; sudo -E keeps the user's environment for the command.
    // `show` goes through sudo too, since the recording it reads is then root's.
    let sudo = !cmd::is_root() && cmd::which("sudo").is_some();
    let leastpriv = || {
        if sudo {
            let mut c = Command::new("sudo");
            c.arg("-E").arg(&bin);
            c
        } else {
            Command::new(&bin)
        }
    };
    let mut rec = leastpriv();
    rec.arg("record")
        .arg("-o")
        .arg(&file)
        .arg("--")
        .args(command);
    step!("recording: {}", cmd::describe(&rec));
    let status = cmd::status(&mut rec)?;

    if file.exists() {
        cmd::run(leastpriv().arg("show").arg(&file))
            .context("`leastpriv show` could not read the recording")?;
        println!("recording: {}", file.display());
    } else {
        step!("no recording was written to {}", file.display());
    }
    if !status.success() {
        step!("`leastpriv record` exited with {status}");
    }
    Ok(cmd::exit_code(status))
}
