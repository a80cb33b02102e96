//! The GitHub Action (action.yml), its steps run as the runner runs them by
//! tests/action/run-action.py, on a small workload: the job summary gets the markdown diff,
//! a widening fails the action when asked to and only then, and the first run (nothing
//! committed yet) says so.
//!
//! With `LEASTPRIV_DEB` (cargo xtask test sets it), the first run installs the package the
//! way the action does (`dpkg -i`), in a private mount namespace whose /usr and /var are
//! overlays on a tmpfs, so the machine is left as it was; the other runs take leastpriv
//! from PATH (`install: path`).

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use leastpriv_tests::{
    bin, describe, engines::require_tool, require_bpf, run, tempdir, workspace_dir,
};
use serde_json::Value;

const BASELINE: &str = "ls / >/dev/null";
/// Does more than the baseline: sleep's clock_nanosleep, and executing /usr/bin/sleep.
const WIDER: &str = "ls / >/dev/null; sleep 0.1";

struct ActionRun {
    output: Output,
    outputs: Value,
    summary: String,
}

/// Runs the action in `workspace` with `inputs`, leastpriv from PATH unless `install` says
/// otherwise; with `in_overlay`, inside a mount namespace with /usr and /var on overlays.
fn run_action(workspace: &Path, inputs: &[(&str, &str)], in_overlay: bool) -> ActionRun {
    let scratch = tempdir();
    let summary = scratch.path().join("summary.md");
    let outputs = scratch.path().join("outputs.json");
    let mut args: Vec<String> = vec![
        workspace_dir()
            .join("tests/action/run-action.py")
            .display()
            .to_string(),
        workspace_dir().display().to_string(),
        "--workspace".into(),
        workspace.display().to_string(),
        "--outputs".into(),
        outputs.display().to_string(),
    ];
    for (name, value) in inputs {
        args.push("--input".into());
        args.push(format!("{name}={value}"));
    }
    let bin_dir = bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        env::var("PATH").unwrap_or_default()
    );
    let mut cmd = if in_overlay {
        let upper = scratch.path().join("upper");
        fs::create_dir(&upper).unwrap();
        // Each overlay's upper and work directories on one tmpfs, gone with the namespace.
        let script = format!(
            "set -e\nmount -t tmpfs leastpriv-test {upper}\n\
             for d in usr var; do\n  mkdir {upper}/$d {upper}/$d.work\n  \
             mount -t overlay leastpriv-test -o lowerdir=/$d,upperdir={upper}/$d,workdir={upper}/$d.work /$d\n\
             done\nexec python3 \"$@\"",
            upper = upper.display()
        );
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            "sh",
        ]);
        cmd
    } else {
        let mut cmd = Command::new("python3");
        cmd.env("PATH", &path);
        cmd
    };
    cmd.args(&args)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_REPOSITORY", "example/demo-app")
        .current_dir(workspace);
    if in_overlay {
        // Only the installed package may provide leastpriv there.
        cmd.env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    }
    let output = run(cmd);
    let outputs = fs::read_to_string(&outputs)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Value::Null);
    let summary = fs::read_to_string(&summary).unwrap_or_default();
    ActionRun {
        output,
        outputs,
        summary,
    }
}

fn can_run(test: &str) -> bool {
    if !require_bpf(test) || !require_tool(test, "python3") || !require_tool(test, "unshare") {
        return false;
    }
    let yaml = Command::new("python3")
        .args(["-c", "import yaml"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        yaml || env::var_os("LEASTPRIV_REQUIRE_BPF").is_none_or(|v| v != "1"),
        "{test} needs PyYAML (python3-yaml; cargo xtask test installs it)"
    );
    if !yaml {
        println!("SKIP {test}: python3 cannot import yaml");
    }
    yaml
}

/// The package when there is one (`LEASTPRIV_DEB`); required in CI.
fn deb(test: &str) -> Option<PathBuf> {
    let deb = env::var_os("LEASTPRIV_DEB").map(PathBuf::from);
    assert!(
        deb.is_some() || env::var_os("LEASTPRIV_REQUIRE_BPF").is_none_or(|v| v != "1"),
        "{test} installs the package, but LEASTPRIV_DEB is not set (cargo xtask test sets it)"
    );
    deb
}

/// A run with nothing committed fails, saying every kind is new.
fn assert_first_run(first: &ActionRun) {
    assert_eq!(
        first.output.status.code(),
        Some(1),
        "{}",
        describe(&first.output)
    );
    assert_eq!(
        first.outputs["widened"],
        "true",
        "{}\n{}",
        first.outputs,
        describe(&first.output)
    );
    for kind in ["seccomp", "capabilities", "apparmor"] {
        assert!(
            first
                .summary
                .contains(&format!("### leastpriv: no committed {kind}")),
            "summary:\n{}",
            first.summary
        );
    }
}

#[test]
fn bpf_action_writes_the_summary_and_fails_on_widening() {
    let test = "bpf_action_writes_the_summary_and_fails_on_widening";
    if !can_run(test) {
        return;
    }
    let workspace = tempdir();
    let ws = workspace.path();

    // 1. Nothing committed yet: every kind is new, which is a widening. The package is
    //    installed as the action installs it, when there is one. (What is recorded in the
    //    overlay differs: overlayfs checks capabilities of its own. So the profiles to commit
    //    come from the next run.)
    if let Some(deb) = deb(test) {
        let installed = run_action(
            ws,
            &[
                ("command", BASELINE),
                ("install", "deb"),
                ("deb", deb.to_str().unwrap()),
            ],
            true,
        );
        assert_first_run(&installed);
        let stdout = String::from_utf8_lossy(&installed.output.stdout);
        assert!(
            stdout.contains("Setting up leastpriv"),
            "dpkg did not install it:\n{stdout}"
        );
    } else {
        println!("note: {test}: LEASTPRIV_DEB not set, the install step's deb path is not run");
    }
    let first = run_action(ws, &[("command", BASELINE), ("install", "path")], false);
    assert_first_run(&first);
    let new = ws.join(first.outputs["profiles"].as_str().unwrap());
    let apparmor = fs::read_to_string(new.join("apparmor")).unwrap();
    assert!(
        apparmor.contains("profile demo-app"),
        "named after the repository:\n{apparmor}"
    );

    // 2. Commit them: the same command leaves the policy unchanged and the action passes.
    let profiles = ws.join("profiles");
    fs::create_dir(&profiles).unwrap();
    for file in ["seccomp.json", "capabilities.txt", "apparmor"] {
        fs::copy(new.join(file), profiles.join(file)).unwrap();
    }
    let same = run_action(ws, &[("command", BASELINE), ("install", "path")], false);
    assert!(same.output.status.success(), "{}", describe(&same.output));
    assert_eq!(same.outputs["widened"], "false");
    assert_eq!(
        same.summary
            .matches("This change leaves the policy unchanged")
            .count(),
        3,
        "summary:\n{}",
        same.summary
    );

    // 3. A command that does more widens seccomp and AppArmor: the action fails, after
    //    writing the diff that says what was added.
    let wider = run_action(ws, &[("command", WIDER), ("install", "path")], false);
    assert_eq!(
        wider.output.status.code(),
        Some(1),
        "{}",
        describe(&wider.output)
    );
    assert_eq!(wider.outputs["widened"], "true");
    assert!(
        wider
            .summary
            .contains("### leastpriv: seccomp profile diff")
            && wider.summary.contains("**widens**")
            && wider.summary.contains("`syscall clock_nanosleep`"),
        "summary:\n{}",
        wider.summary
    );
    assert!(wider.summary.contains("sleep"), "{}", wider.summary);
    let diff = ws.join(wider.outputs["diff"].as_str().unwrap());
    assert_eq!(fs::read_to_string(diff).unwrap(), wider.summary);
    let stdout = String::from_utf8_lossy(&wider.output.stdout);
    assert!(
        stdout.contains("::error title=leastpriv::the change widens the profiles"),
        "{stdout}"
    );

    // 4. Not asked to fail: the same widening passes, and still says so.
    let allowed = run_action(
        ws,
        &[
            ("command", WIDER),
            ("install", "path"),
            ("fail-on-widen", "false"),
            ("kinds", "seccomp"),
        ],
        false,
    );
    assert!(
        allowed.output.status.success(),
        "{}",
        describe(&allowed.output)
    );
    assert_eq!(allowed.outputs["widened"], "true");
    assert!(allowed.summary.contains("`syscall clock_nanosleep`"));
    assert!(
        !allowed.summary.contains("AppArmor"),
        "only seccomp was asked for"
    );
}

#[test]
fn action_refuses_bad_inputs() {
    let test = "action_refuses_bad_inputs";
    if !require_tool(test, "python3") {
        return;
    }
    let workspace = tempdir();
    let bad = run_action(
        workspace.path(),
        &[("command", "true"), ("install", "curl-pipe-sh")],
        false,
    );
    assert_eq!(
        bad.output.status.code(),
        Some(1),
        "{}",
        describe(&bad.output)
    );
    assert!(String::from_utf8_lossy(&bad.output.stdout)
        .contains("install must be build, deb or path, not 'curl-pipe-sh'"));
    assert!(bad.summary.is_empty());
    // An input the action does not declare is refused before anything runs.
    let unknown = run_action(workspace.path(), &[("comand", "true")], false);
    assert_eq!(
        unknown.output.status.code(),
        Some(2),
        "{}",
        describe(&unknown.output)
    );
}
