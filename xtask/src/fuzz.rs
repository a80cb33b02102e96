//! `cargo xtask fuzz`: runs the cargo-fuzz targets in `fuzz/` (the parsers and pure
//! functions that read untrusted input) for a bounded time each, from the committed seeds.

use crate::cmd::{self, step};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// Every target in `fuzz/fuzz_targets/`; each has its seeds in `fuzz/corpus/<target>/`.
pub const TARGETS: &[&str] = &[
    "decode",
    "recording",
    "seccomp_profile",
    "apparmor_profile",
    "merge_diff",
];

/// Builds every target and fuzzes each for `seconds`; fails naming the targets that found a
/// crash (libFuzzer leaves the input under `fuzz/artifacts/<target>/`).
pub fn run(root: &Path, linker_dir: &Path, seconds: u64) -> Result<()> {
    ensure_cargo_fuzz()?;
    let fuzz_dir = root.join("fuzz");
    step!("building the fuzz targets (cargo +nightly fuzz build; minutes the first time)");
    // recorder/build.rs builds the eBPF programs, so bpf-linker must be on PATH here too.
    cmd::run(cargo_fuzz(&fuzz_dir, linker_dir)?.arg("build"))
        .context("building the fuzz targets failed; see cargo's output above")?;

    let mut crashed = Vec::new();
    for target in TARGETS {
        step!("fuzzing {target} for {seconds} s");
        // New inputs go to a scratch corpus under fuzz/target, so the committed seeds
        // (read, never written) stay as reviewed.
        let scratch = fuzz_dir.join("target/corpus").join(target);
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("cannot create {}", scratch.display()))?;
        let output = cmd::raw_output(
            cargo_fuzz(&fuzz_dir, linker_dir)?
                .args(["run", target])
                .arg(&scratch)
                .arg(fuzz_dir.join("corpus").join(target))
                // A single input taking 10 s is a hang worth reporting, not waiting out.
                .args(["--", &format!("-max_total_time={seconds}"), "-timeout=10"]),
        )?;
        let log = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            let done = log
                .lines()
                .rfind(|l| l.starts_with("Done "))
                .unwrap_or("done");
            step!("{target}: {done}, no crash");
        } else {
            eprintln!("{log}");
            step!(
                "{target} FAILED ({}); the input is under fuzz/artifacts/{target}/",
                output.status
            );
            crashed.push(*target);
        }
    }
    if !crashed.is_empty() {
        bail!("fuzz targets failed: {}", crashed.join(", "));
    }
    Ok(())
}

/// `cargo +nightly fuzz` (libFuzzer's sanitizer flags need nightly), run in `fuzz/`.
fn cargo_fuzz(fuzz_dir: &Path, linker_dir: &Path) -> Result<Command> {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", "nightly", "cargo", "fuzz"])
        .current_dir(fuzz_dir)
        .env("PATH", cmd::path_with(linker_dir)?);
    Ok(cmd)
}

/// Installs cargo-fuzz unless `cargo fuzz --version` already works.
fn ensure_cargo_fuzz() -> Result<()> {
    if let Ok(version) = cmd::output(Command::new("cargo").args(["fuzz", "--version"])) {
        step!("{} installed", version.trim());
        return Ok(());
    }
    step!("cargo-fuzz missing; installing it (cargo install cargo-fuzz --locked)");
    cmd::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
        .context("installing cargo-fuzz failed; see cargo's output above")
}
