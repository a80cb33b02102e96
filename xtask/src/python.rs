//! Python tools the tests use, from PyPI, in a virtual environment under target/ (so nothing
//! is installed on the machine outside the project): kubernetes-validate checks generated
//! Kubernetes YAML against the API's own JSON schemas; jsonschema checks generated Landlock
//! configurations against the landlockconfig schema (tests/fixtures).

use std::{path::PathBuf, process::Command};

use anyhow::{Context, Result};

use crate::cmd::{self, step};

/// Pinned so that CI validates against the same schemas every time.
const KUBERNETES_VALIDATE: &str = "kubernetes-validate==1.37.0";
const JSONSCHEMA: &str = "jsonschema==4.26.0";

/// Whether the environment's python can import jsonschema (an environment made before it was
/// added lacks it).
fn has_jsonschema(bin: &std::path::Path) -> bool {
    Command::new(bin.join("python"))
        .args(["-c", "import jsonschema"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Creates target/py with the tools when missing; returns the environment's bin directory.
pub fn ensure(root: &std::path::Path) -> Result<PathBuf> {
    let venv = root.join("target/py");
    let bin = venv.join("bin");
    if bin.join("kubernetes-validate").is_file() && has_jsonschema(&bin) {
        step!("python tools: present in {}", venv.display());
        return Ok(bin);
    }
    step!(
        "python tools: installing {KUBERNETES_VALIDATE} and {JSONSCHEMA} into {}",
        venv.display()
    );
    if !bin.join("python").is_file() {
        cmd::run(Command::new("python3").args(["-m", "venv"]).arg(&venv)).context(
            "creating a python virtual environment failed (Debian: apt-get install python3-venv)",
        )?;
    }
    cmd::run(Command::new(bin.join("pip")).args([
        "install",
        "--quiet",
        KUBERNETES_VALIDATE,
        JSONSCHEMA,
    ]))
    .context("installing kubernetes-validate and jsonschema from PyPI failed")?;
    Ok(bin)
}
