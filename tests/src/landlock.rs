//! Landlock helpers: generating a configuration from a recording, checking it against the
//! landlockconfig JSON schema with `jsonschema` (PyPI), and running commands under it with
//! `leastpriv run --landlock` and with an independent loader (`landlock_apply.py`, raw
//! syscalls through ctypes).

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use crate::{
    describe, leastpriv, run, workloads::python3, workloads::workload_source, workspace_dir,
};

/// The python that has jsonschema: `$LEASTPRIV_PYTHON` (set by `cargo xtask test`), else the
/// project's environment under target/py.
pub fn python_with_jsonschema() -> PathBuf {
    let python = std::env::var_os("LEASTPRIV_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir().join("target/py/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run `cargo xtask test`, which installs jsonschema there (or set LEASTPRIV_PYTHON)",
        python.display()
    );
    python
}

/// The landlockconfig JSON schema the tests validate against (docs/landlock.md says where it
/// comes from).
pub fn schema() -> PathBuf {
    workspace_dir().join("tests/fixtures/landlockconfig.schema.json")
}

/// Validates a JSON configuration against the schema: the validator's output on failure.
pub fn validate(config: &Path) -> Result<(), String> {
    let mut cmd = Command::new(python_with_jsonschema());
    cmd.args([
        "-c",
        "import json, sys, jsonschema\n\
         schema = json.load(open(sys.argv[1]))\n\
         jsonschema.Draft7Validator.check_schema(schema)\n\
         jsonschema.Draft7Validator(schema).validate(json.load(open(sys.argv[2])))\n",
    ])
    .arg(schema())
    .arg(config);
    let output = run(cmd);
    if output.status.success() {
        Ok(())
    } else {
        Err(describe(&output))
    }
}

/// `generate landlock REC -o DIR/NAME [extra]`: the file written.
pub fn generate(recording: &serde_json::Value, dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let rec = dir.join(format!("{name}.recording.json"));
    std::fs::write(&rec, serde_json::to_string(recording).unwrap()).unwrap();
    let out = dir.join(name);
    let mut cmd = leastpriv();
    cmd.args(["generate", "landlock"])
        .arg(&rec)
        .arg("-o")
        .arg(&out)
        .args(extra);
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    out
}

/// `leastpriv run --landlock CONFIG -- ARGV`.
pub fn run_under(config: &Path, argv: &[&str]) -> Output {
    let mut cmd = leastpriv();
    cmd.arg("run")
        .arg("--landlock")
        .arg(config)
        .arg("--")
        .args(argv);
    run(cmd)
}

/// ARGV under CONFIG applied by `landlock_apply.py`, which shares no code with leastpriv.
pub fn run_under_raw_syscalls(config: &Path, argv: &[&str]) -> Output {
    let mut cmd = Command::new(python3());
    cmd.arg(workload_source("landlock_apply.py"))
        .arg(config)
        .args(argv);
    run(cmd)
}
