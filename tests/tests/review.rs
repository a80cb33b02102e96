//! The review and CI tools: merge, diff, the Kubernetes and systemd outputs, validated with
//! real consumers (the Kubernetes API schema via kubernetes-validate, systemd-analyze).

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use leastpriv_tests::{
    describe, leastpriv, record, require_bpf, run, tempdir, workloads::build_workload,
    workspace_dir,
};
use serde_json::Value;

/// What a recording says the given program did: syscalls (abi:name), files (path access),
/// sockets and capability checks, each only where that program is among the makers.
fn made_by(rec: &Value, program: &str) -> BTreeSet<String> {
    let by = |item: &Value| {
        item["by"]
            .as_array()
            .is_some_and(|b| b.iter().any(|p| p.as_str() == Some(program)))
    };
    let mut out = BTreeSet::new();
    for (abi, entries) in rec["syscalls"].as_object().into_iter().flatten() {
        for e in entries.as_array().into_iter().flatten().filter(|e| by(e)) {
            out.insert(format!("syscall {abi}:{}", e["name"]));
        }
    }
    for f in rec["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| by(f))
    {
        for a in f["access"].as_array().into_iter().flatten() {
            out.insert(format!("file {} {a}", f["path"]));
        }
    }
    for s in rec["sockets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| by(s))
    {
        out.insert(format!(
            "socket {} {} {}",
            s["family"], s["type"], s["protocol"]
        ));
    }
    for c in rec["capabilities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| by(c))
    {
        out.insert(format!(
            "capability {} {} {}",
            c["capability"], c["audit"], c["granted"]
        ));
    }
    out
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path
}

/// Merging the recordings of two workloads gives what recording both in one run gives, for
/// everything those two programs did (the shell that runs both in one go adds its own).
#[test]
fn bpf_merge_equals_one_run_of_both() {
    if !require_bpf("bpf_merge_equals_one_run_of_both") {
        return;
    }
    let bind = build_workload("cap_bind", &[]);
    let files = build_workload("cap_files", &[]);
    let dir = tempdir();
    let work = dir.path().join("work");
    fs::create_dir(&work).unwrap();
    let work = work.to_str().unwrap();
    let a = record(&["--as-root", "--", &bind, "86"]);
    let b = record(&["--as-root", "--", &files, work]);
    let script = format!("{bind} 86 && {files} {work}");
    let both = record(&["--as-root", "--", "sh", "-c", &script]);
    for r in [&a, &b, &both] {
        assert!(r.status.success(), "{}", r.stderr);
    }
    let out = dir.path().join("merged.json");
    let mut cmd = leastpriv();
    cmd.arg("merge")
        .arg(write(dir.path(), "a.json", &a.json))
        .arg(write(dir.path(), "b.json", &b.json))
        .arg("-o")
        .arg(&out);
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    let merged: Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
    for program in [&bind, &files] {
        let program = fs::canonicalize(program).unwrap();
        let program = program.to_str().unwrap();
        let from_merge = made_by(&merged, program);
        let from_one_run = made_by(&both.json, program);
        assert!(!from_merge.is_empty(), "nothing attributed to {program}");
        assert_eq!(
            from_merge, from_one_run,
            "{program}: merged recordings vs one run"
        );
    }
    // Every item of the merge names the runs that contributed it.
    let ids: BTreeSet<&str> = [&a, &b]
        .iter()
        .map(|r| r.json["run_id"].as_str().unwrap())
        .collect();
    let runs: BTreeSet<&str> = merged["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(runs, ids);
    let bind_syscall = merged["syscalls"]["x86_64"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "bind")
        .unwrap();
    assert_eq!(bind_syscall["runs"], serde_json::json!([a.json["run_id"]]));
}

fn diff(old: &Path, new: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = leastpriv();
    cmd.arg("diff").arg(old).arg(new).args(extra);
    run(cmd)
}

/// A profile against itself is empty (exit 0); adding ptrace, or CAP_SYS_ADMIN, is a high-risk
/// widening that fails under --fail-on widen; narrowing passes.
#[test]
fn diff_flags_high_risk_widening() {
    let dir = tempdir();
    let profile = workspace_dir().join("tests/golden/ls.seccomp.json");
    let same = diff(&profile, &profile, &["--fail-on", "widen"]);
    assert_eq!(same.status.code(), Some(0), "{}", describe(&same));
    assert!(String::from_utf8_lossy(&same.stdout).contains("0 added, 0 removed (equal)"));

    let mut wider: Value = serde_json::from_str(&fs::read_to_string(&profile).unwrap()).unwrap();
    wider["syscalls"][0]["names"]
        .as_array_mut()
        .unwrap()
        .push("ptrace".into());
    let wider = write(dir.path(), "wider.json", &wider);
    let widened = diff(&profile, &wider, &["--fail-on", "widen"]);
    assert_eq!(widened.status.code(), Some(1), "{}", describe(&widened));
    assert!(
        String::from_utf8_lossy(&widened.stdout).contains("+ [high] syscall ptrace"),
        "{}",
        describe(&widened)
    );
    let narrowed = diff(&wider, &profile, &["--fail-on", "widen"]);
    assert_eq!(narrowed.status.code(), Some(0), "{}", describe(&narrowed));

    let (old, new) = (dir.path().join("old.txt"), dir.path().join("new.txt"));
    fs::write(&old, "CHOWN\n").unwrap();
    fs::write(&new, "CHOWN\nSYS_ADMIN\n").unwrap();
    let caps = diff(&old, &new, &["--fail-on", "widen", "--format", "json"]);
    assert_eq!(caps.status.code(), Some(1), "{}", describe(&caps));
    let json: Value = serde_json::from_slice(&caps.stdout).unwrap();
    assert_eq!(json["added"][0]["name"], "CAP_SYS_ADMIN");
    assert_eq!(json["added"][0]["risk"], "high");
    assert_eq!(json["widened"], true);

    let mismatch = diff(&profile, &old, &[]);
    assert_eq!(mismatch.status.code(), Some(2), "{}", describe(&mismatch));
}

/// kubernetes-validate (PyPI; `cargo xtask test` installs it under target/py).
fn kubernetes_validate() -> PathBuf {
    let tool = std::env::var_os("LEASTPRIV_K8S_VALIDATE")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_dir().join("target/py/bin/kubernetes-validate"));
    assert!(
        tool.exists(),
        "{} is missing: run `cargo xtask test`, which installs it",
        tool.display()
    );
    tool
}

/// Validates a Pod whose container uses `security_context` against the Kubernetes API schema.
fn validate_pod(dir: &Path, security_context: &serde_yaml_ng::Value) -> std::process::Output {
    let pod = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "demo"},
        "spec": {"containers": [{"name": "app", "image": "busybox", "securityContext": security_context}]},
    });
    let file = dir.join("pod.yaml");
    fs::write(&file, serde_yaml_ng::to_string(&pod).unwrap()).unwrap();
    let mut cmd = Command::new(kubernetes_validate());
    cmd.args(["--strict", "-k", "1.33.0"]).arg(&file);
    run(cmd)
}

/// The generated securityContext is valid against the Kubernetes API schema for a Pod's
/// container (strict: no unknown fields), and an invalid one is refused (so the check can fail).
#[test]
fn k8s_security_context_is_valid_against_the_api_schema() {
    let dir = tempdir();
    for fixture in ["bind_and_chown"] {
        let recording = workspace_dir().join(format!("tests/fixtures/{fixture}.recording.json"));
        let mut cmd = leastpriv();
        cmd.args(["generate", "k8s"]).arg(&recording);
        let output = run(cmd);
        assert!(output.status.success(), "{}", describe(&output));
        let text = String::from_utf8(output.stdout).unwrap();
        let first = text.split("\n---\n").next().unwrap();
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(first).unwrap();
        let context = &doc["securityContext"];
        assert_eq!(context["capabilities"]["drop"][0], "ALL");
        assert_eq!(
            context["appArmorProfile"]["type"], "Localhost",
            "a recording with files gets an AppArmor profile"
        );
        let validated = validate_pod(dir.path(), context);
        assert!(
            validated.status.success(),
            "{fixture}: {}",
            describe(&validated)
        );
        // The SPO resources follow.
        assert!(
            text.contains("kind: SeccompProfile") && text.contains("kind: AppArmorProfile"),
            "{text}"
        );
    }
    let bad: serde_yaml_ng::Value =
        serde_yaml_ng::from_str("allowPrivilegeEscalation: false\ncapabilitys: {}\n").unwrap();
    assert!(
        !validate_pod(dir.path(), &bad).status.success(),
        "kubernetes-validate accepted an unknown field"
    );
}

/// The systemd drop-in is read by systemd-analyze without a complaint about it, and a broken
/// one is complained about (so the check can fail).
#[test]
fn systemd_drop_in_is_accepted_by_systemd_analyze() {
    let dir = tempdir();
    let unit = dir.path().join("demo.service");
    fs::write(
        &unit,
        "[Unit]\nDescription=demo\n[Service]\nExecStart=/usr/bin/true\n",
    )
    .unwrap();
    let drop_in_dir = dir.path().join("demo.service.d");
    fs::create_dir(&drop_in_dir).unwrap();
    let drop_in = drop_in_dir.join("leastpriv.conf");
    let mut cmd = leastpriv();
    cmd.args(["generate", "systemd"])
        .arg(workspace_dir().join("tests/fixtures/bind_and_chown.recording.json"))
        .arg("-o")
        .arg(&drop_in);
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    let text = fs::read_to_string(&drop_in).unwrap();
    for line in [
        "SystemCallArchitectures=x86-64",
        "CapabilityBoundingSet=CAP_CHOWN CAP_NET_BIND_SERVICE",
        "NoNewPrivileges=yes",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
    }
    let verify = |dir: &Path| {
        let mut cmd = Command::new("systemd-analyze");
        cmd.arg("verify")
            .arg(dir.join("demo.service"))
            .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.display()));
        let output = run(cmd);
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|l| l.contains("leastpriv.conf"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(verify(dir.path()), Vec::<String>::new());
    fs::write(&drop_in, format!("{text}SystemCallFilter=@no-such-group\n")).unwrap();
    assert!(
        !verify(dir.path()).is_empty(),
        "systemd-analyze did not complain about a broken drop-in"
    );
}

/// `check` passes a workload against the profiles generated from its own recording, and when
/// the workload makes one more syscall, fails naming exactly that syscall and its program.
#[test]
fn bpf_check_names_the_syscall_a_changed_workload_adds() {
    if !require_bpf("bpf_check_names_the_syscall_a_changed_workload_adds") {
        return;
    }
    let program = build_workload("syscall_loop", &[]);
    let dir = tempdir();
    let profiles = dir.path().join("profiles");
    fs::create_dir(&profiles).unwrap();
    let rec = record(&["--as-root", "--", &program, "getpriority", "0.2"]);
    assert!(rec.status.success(), "{}", rec.stderr);
    let recording = write(dir.path(), "rec.json", &rec.json);
    for (kind, file) in [
        ("seccomp", "seccomp.json"),
        ("capabilities", "capabilities.txt"),
    ] {
        let mut cmd = leastpriv();
        cmd.args(["generate", kind])
            .arg(&recording)
            .arg("-o")
            .arg(profiles.join(file));
        let output = run(cmd);
        assert!(output.status.success(), "{}", describe(&output));
    }
    let check = |syscall: &str| {
        let mut cmd = leastpriv();
        cmd.args(["check", "--as-root", "--profiles"])
            .arg(&profiles)
            .args(["--", &program, syscall, "0.2"]);
        run(cmd)
    };
    let same = check("getpriority");
    assert_eq!(same.status.code(), Some(0), "{}", describe(&same));
    assert!(same.stdout.is_empty(), "{}", describe(&same));
    let changed = check("times");
    assert_eq!(changed.status.code(), Some(1), "{}", describe(&changed));
    let canonical = fs::canonicalize(&program).unwrap();
    let expected = format!(
        "{}: syscall times (x86_64)  by {}\n",
        profiles.join("seccomp.json").display(),
        canonical.display()
    );
    assert_eq!(
        String::from_utf8_lossy(&changed.stdout),
        expected,
        "{}",
        describe(&changed)
    );
}

/// An AppArmor profile against itself is empty (exit 0); adding `"/etc/passwd" w,` is a
/// high-risk widening that fails under --fail-on widen; a malformed profile, or a profile
/// against a seccomp profile, is bad input (exit 2).
#[test]
fn diff_of_apparmor_profiles_flags_a_write_to_etc() {
    let dir = tempdir();
    let profile = workspace_dir().join("tests/golden/apparmor-basic.profile");
    let same = diff(&profile, &profile, &["--fail-on", "widen"]);
    assert_eq!(same.status.code(), Some(0), "{}", describe(&same));
    assert_eq!(
        String::from_utf8_lossy(&same.stdout),
        "AppArmor profile: 0 added, 0 removed (equal)\n"
    );

    let text = fs::read_to_string(&profile).unwrap();
    let end = text.rfind('}').unwrap();
    let wider = dir.path().join("wider.profile");
    fs::write(
        &wider,
        format!("{}  \"/etc/passwd\" w,\n{}", &text[..end], &text[end..]),
    )
    .unwrap();
    let widened = diff(&profile, &wider, &["--fail-on", "widen"]);
    assert_eq!(widened.status.code(), Some(1), "{}", describe(&widened));
    assert_eq!(
        String::from_utf8_lossy(&widened.stdout),
        "AppArmor profile: 1 added, 0 removed (widened)\n+ [high] file /etc/passwd write\n",
        "{}",
        describe(&widened)
    );
    let json = diff(&profile, &wider, &["--format", "json"]);
    assert_eq!(json.status.code(), Some(0), "{}", describe(&json));
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["kind"], "AppArmor profile");
    assert_eq!(
        json["added"],
        serde_json::json!([{"what": "file", "path": "/etc/passwd", "access": "write", "risk": "high"}])
    );
    let narrowed = diff(&wider, &profile, &["--fail-on", "widen"]);
    assert_eq!(narrowed.status.code(), Some(0), "{}", describe(&narrowed));

    let broken = dir.path().join("broken.profile");
    fs::write(
        &broken,
        format!("{}  \"/etc/passwd\" wz,\n{}", &text[..end], &text[end..]),
    )
    .unwrap();
    let bad = diff(&profile, &broken, &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", describe(&bad));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("unknown permission"),
        "{}",
        describe(&bad)
    );
    let mismatch = diff(
        &profile,
        &workspace_dir().join("tests/golden/ls.seccomp.json"),
        &[],
    );
    assert_eq!(mismatch.status.code(), Some(2), "{}", describe(&mismatch));
}

/// `check` passes `cat` against the AppArmor profile generated from its own recording, and
/// when told to read one more file, fails naming exactly that file, its access and `cat`.
#[test]
fn bpf_check_names_the_file_a_changed_workload_reads() {
    if !require_bpf("bpf_check_names_the_file_a_changed_workload_reads") {
        return;
    }
    let cat = fs::canonicalize("/usr/bin/cat").unwrap();
    let cat = cat.to_str().unwrap();
    // A fixed directory: a random temporary name could itself be generalised by the profile.
    let work = workspace_dir().join("target/review-check-apparmor");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).unwrap();
    // Empty files: cat prints nothing, so check's standard output holds only its findings.
    let (first, second) = (work.join("first"), work.join("second"));
    fs::write(&first, "").unwrap();
    fs::write(&second, "").unwrap();
    let (first, second) = (first.to_str().unwrap(), second.to_str().unwrap());

    let dir = tempdir();
    let profiles = dir.path().join("profiles");
    fs::create_dir(&profiles).unwrap();
    let rec = record(&["--as-root", "--", cat, first]);
    assert!(rec.status.success(), "{}", rec.stderr);
    let recording = write(dir.path(), "rec.json", &rec.json);
    let mut cmd = leastpriv();
    cmd.args(["generate", "apparmor"])
        .arg(&recording)
        .arg("-o")
        .arg(profiles.join("apparmor"));
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    let profile = fs::read_to_string(profiles.join("apparmor")).unwrap();
    assert!(profile.contains(&format!("\"{first}\" r,")), "{profile}");

    let check = |files: &[&str]| {
        let mut cmd = leastpriv();
        cmd.args(["check", "--as-root", "--profiles"])
            .arg(&profiles)
            .arg("--")
            .arg(cat)
            .args(files);
        run(cmd)
    };
    let same = check(&[first]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}\n{profile}",
        describe(&same)
    );
    assert!(same.stdout.is_empty(), "{}", describe(&same));
    let changed = check(&[first, second]);
    assert_eq!(
        changed.status.code(),
        Some(1),
        "{}\n{profile}",
        describe(&changed)
    );
    let expected = format!(
        "{}: file {second} read  by {cat}\n",
        profiles.join("apparmor").display()
    );
    assert_eq!(
        String::from_utf8_lossy(&changed.stdout),
        expected,
        "{}\n{profile}",
        describe(&changed)
    );

    // A malformed profile is bad input, reported before anything runs.
    fs::write(profiles.join("apparmor"), format!("{profile}\n\"/x\" r,\n")).unwrap();
    let malformed = check(&[first]);
    assert_eq!(malformed.status.code(), Some(2), "{}", describe(&malformed));
    assert!(
        String::from_utf8_lossy(&malformed.stderr).contains("outside a profile"),
        "{}",
        describe(&malformed)
    );
}
