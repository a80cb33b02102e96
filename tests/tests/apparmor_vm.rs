//! AppArmor profiles proven by real enforcement, in a VM whose kernel has AppArmor (see
//! tests/src/vm/): profiles generated from one recorded run must let the next runs of the
//! same workload through with no denial, must deny what a removed rule allowed, and must not
//! be widened by hostile file names.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::path::Path;

use leastpriv_tests::vm::{default_env, denied_name, quote, require_vm, Check, Confine};
use leastpriv_tests::workloads::{self, python3, workload_source};
use leastpriv_tests::{describe, leastpriv, require_bpf, run, tempdir};

/// The harness itself: a hand-written profile allows what it lists and denies the rest,
/// attached by path and by name, and the guest reports both.
#[test]
fn vm_harness_enforces_a_hand_written_profile() {
    let Some(vm) = require_vm("vm_harness_enforces_a_hand_written_profile") else {
        return;
    };
    let profile = "#include <tunables/global>\nprofile leastpriv-vm-cat /usr/bin/cat {\n  #include <abstractions/base>\n  /etc/hostname r,\n}\n";
    let checks = [
        Check::new(
            "by path, allowed",
            Some(profile.into()),
            Confine::ByPath,
            &["/usr/bin/cat", "/etc/hostname"],
        ),
        Check::new(
            "by path, denied",
            Some(profile.into()),
            Confine::ByPath,
            &["/usr/bin/cat", "/etc/passwd"],
        ),
        Check::new(
            "by name, denied",
            Some(profile.into()),
            Confine::ByName("leastpriv-vm-cat".into()),
            &["/usr/bin/head", "-c1", "/etc/passwd"],
        ),
        Check::new(
            "unloaded again",
            None,
            Confine::Unconfined,
            &["/usr/bin/cat", "/etc/passwd"],
        ),
    ];
    let out = vm.run(&checks);
    out[0].assert_clean();
    assert!(!out[0].stdout.is_empty(), "{}", out[0]);
    for denied in &out[1..3] {
        assert_ne!(denied.status, 0, "{denied}");
        assert!(
            denied
                .denials
                .iter()
                .any(|l| l.contains("name=\"/etc/passwd\"")
                    && l.contains("profile=\"leastpriv-vm-cat\"")),
            "{denied}"
        );
    }
    out[3].assert_clean();
}

/// A workload run on the host (recorded) and in the guest (enforced) alike.
struct VmWorkload {
    name: &'static str,
    argv: Vec<String>,
    /// A path (or, with a trailing `/`, a directory's path) the workload needs in every run:
    /// the negative control removes its rule and expects its denial. `None`: the control
    /// removes `include <abstractions/base>` instead and expects the loader's files denied.
    needed: Option<String>,
}

fn sh(script: &str, dir: &Path) -> Vec<String> {
    vec![
        "/bin/sh".into(),
        workload_source(script).to_str().unwrap().into(),
        dir.to_str().unwrap().into(),
    ]
}

fn py(script: &str, dir: &Path) -> Vec<String> {
    vec![
        python3(),
        workload_source(script).to_str().unwrap().into(),
        dir.to_str().unwrap().into(),
    ]
}

/// The foundation workloads and the issue's held-out ones, each working in `work/<name>`.
fn workloads(work: &Path) -> Vec<VmWorkload> {
    let dir = |name: &str| work.join(name);
    let path = |name: &str, file: &str| Some(format!("{}/{file}", dir(name).display()));
    let python = workloads::python();
    vec![
        VmWorkload {
            name: "ls",
            argv: workloads::ls().argv,
            needed: None,
        },
        VmWorkload {
            name: "python",
            needed: Some(python.argv[1].clone()),
            argv: python.argv,
        },
        VmWorkload {
            name: "threads",
            argv: workloads::threads().argv,
            needed: None,
        },
        VmWorkload {
            name: "spawn_kinds",
            argv: workloads::spawn_kinds().argv,
            needed: None,
        },
        VmWorkload {
            name: "git",
            argv: sh("vm_git.sh", &dir("git")),
            needed: path("git", "repo/a.txt"),
        },
        VmWorkload {
            name: "tempfile",
            argv: py("vm_tempfile.py", &dir("tempfile")),
            needed: path("tempfile", "report.txt"),
        },
        VmWorkload {
            name: "gcc",
            argv: sh("vm_gcc.sh", &dir("gcc")),
            needed: path("gcc", "a.o"),
        },
        VmWorkload {
            name: "pipeline",
            argv: sh("vm_pipeline.sh", &dir("pipeline")),
            needed: path("pipeline", "summary.txt"),
        },
        VmWorkload {
            name: "service",
            argv: py("vm_service.py", &dir("service")),
            needed: path("service", "service.pid"),
        },
    ]
}

/// Shell commands that give a workload an empty working directory.
fn reset(dir: &Path) -> String {
    let dir = quote(dir.to_str().unwrap());
    format!("rm -rf {dir} && mkdir -p {dir}\n")
}

/// Records one run of `w` on the host, in a fresh `dir`, with the guest's environment.
fn record_run(w: &VmWorkload, dir: &Path, out: &Path) {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir).unwrap();
    let mut cmd = leastpriv();
    cmd.env_clear()
        .envs(default_env())
        .current_dir(dir)
        .args(["record", "--as-root", "-o"])
        .arg(out)
        .arg("--")
        .args(&w.argv);
    let output = run(cmd);
    assert!(
        output.status.success(),
        "record {}: {}",
        w.name,
        describe(&output)
    );
    // `record` succeeds whatever the command's status; a failed run is no run to compare.
    let recording = leastpriv_tests::read_recording(out).unwrap();
    assert_eq!(
        recording["exit_status"],
        0,
        "recorded {} failed: {}",
        w.name,
        describe(&output)
    );
}

/// `leastpriv ARGS` that must succeed.
fn leastpriv_ok(args: &[&OsStr]) {
    let mut cmd = leastpriv();
    cmd.args(args);
    let output = run(cmd);
    assert!(
        output.status.success(),
        "leastpriv {args:?}: {}",
        describe(&output)
    );
}

/// `generate apparmor RECORDING --name NAME`: the profile's text.
fn generate(recording: &Path, name: &str) -> String {
    let out = recording.with_extension("profile");
    leastpriv_ok(&[
        "generate".as_ref(),
        "apparmor".as_ref(),
        recording.as_os_str(),
        "--name".as_ref(),
        name.as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    fs::read_to_string(out).unwrap()
}

/// The profile without the rules for `needed` (or without `abstractions/base`): it must
/// lose at least one line.
fn without_rule(profile: &str, needed: Option<&str>) -> String {
    let keep = |line: &str| match needed {
        Some(path) => {
            let quoted = format!("\"{path}\" ");
            let trimmed = line.trim_start().trim_start_matches("owner ");
            !(trimmed.starts_with(&quoted) || trimmed.starts_with(&format!("{path} ")))
        }
        None => line.trim() != "include <abstractions/base>",
    };
    let kept: Vec<&str> = profile.lines().filter(|l| keep(l)).collect();
    assert!(
        kept.len() < profile.lines().count(),
        "no rule for {needed:?} to remove in:\n{profile}"
    );
    kept.join("\n") + "\n"
}

/// For every workload: record runs 1 and 2 on the host; in one boot, enforce the profile of
/// run 1 on a new run (attached by path, and by name with aa-exec): no denial; the same
/// profile without a rule the run needs: that denial; the profile of runs 1 and 2 merged on
/// one more run: no denial.
#[test]
fn vm_bpf_profiles_hold_from_run_to_run_and_deny_what_is_removed() {
    let test = "vm_bpf_profiles_hold_from_run_to_run_and_deny_what_is_removed";
    if !require_bpf(test) {
        return;
    }
    let Some(vm) = require_vm(test) else {
        return;
    };
    let scratch = tempdir();
    let work = vm.work_dir();
    let mut checks = Vec::new();
    let workloads = workloads(&work);
    for w in &workloads {
        let dir = work.join(w.name);
        let run1 = scratch.path().join(format!("{}-1.json", w.name));
        let run2 = scratch.path().join(format!("{}-2.json", w.name));
        record_run(w, &dir, &run1);
        record_run(w, &dir, &run2);
        let merged = scratch.path().join(format!("{}-merged.json", w.name));
        leastpriv_ok(&[
            "merge".as_ref(),
            run1.as_os_str(),
            run2.as_os_str(),
            "-o".as_ref(),
            merged.as_os_str(),
        ]);
        let name = format!("leastpriv-vm-{}", w.name);
        let profile = generate(&run1, &name);
        let merged_profile = generate(&merged, &name);
        let check = |what: &str, profile: &str, confine: Confine| {
            let mut check = Check::new(
                &format!("{} {what}", w.name),
                Some(profile.to_owned()),
                confine,
                &w.argv.iter().map(String::as_str).collect::<Vec<_>>(),
            );
            check.cwd = dir.clone();
            check.setup = Some(reset(&dir));
            check
        };
        checks.push(check("run 2, attached by path", &profile, Confine::ByPath));
        // By name too for a shell script, a Python program and a compiled one: aa-exec's
        // path into the profile is the same for all, and each check costs seconds here.
        if ["git", "service", "threads"].contains(&w.name) {
            checks.push(check(
                "run 2, by name",
                &profile,
                Confine::ByName(name.clone()),
            ));
        }
        checks.push(check(
            "without a needed rule",
            &without_rule(&profile, w.needed.as_deref()),
            Confine::ByPath,
        ));
        checks.push(check(
            "run 3, merged profile",
            &merged_profile,
            Confine::ByPath,
        ));
    }
    let outcomes = vm.run(&checks);
    let mut failures = Vec::new();
    for w in &workloads {
        let prefix = format!("{} ", w.name);
        let prefix = prefix.as_str();
        let of = |what: &'static str| {
            outcomes
                .iter()
                .zip(&checks)
                .filter(move |(o, _)| o.name.starts_with(prefix) && o.name.ends_with(what))
        };
        let clean_checks: Vec<_> = of("by path")
            .chain(of("by name"))
            .chain(of("merged profile"))
            .collect();
        assert!(clean_checks.len() >= 2, "{}: checks missing", w.name);
        for (clean, check) in clean_checks {
            clean.assert_loaded();
            // A profile without an attachment would leave a check by path unconfined, and
            // its clean run would prove nothing.
            let profile = check.profile.as_deref().unwrap_or_default();
            if check.confine == Confine::ByPath {
                assert!(
                    profile
                        .lines()
                        .any(|l| l.starts_with("profile ") && l.contains(" \"/")),
                    "{}: the profile attaches to no program:\n{profile}",
                    check.name
                );
            }
            if clean.status != 0 || !clean.denials.is_empty() {
                failures.push(format!(
                    "{clean}\n--- profile ---\n{}",
                    check.profile.as_deref().unwrap_or_default()
                ));
            }
        }
        let (negative, _) = of("without a needed rule")
            .next()
            .expect("a negative control");
        negative.assert_loaded();
        let denied_needed = negative.denials.iter().any(|line| match &w.needed {
            Some(path) => denied_name(line) == Some(path.as_str()),
            None => denied_name(line).is_some(),
        });
        if !denied_needed {
            failures.push(format!(
                "negative control not denied ({:?}):\n{negative}",
                w.needed
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `diff --fail-on widen` of two runs of the same unchanged workload: exit 0 for the
/// recordings and for each profile kind diff reads (AppArmor, seccomp, capability list), and
/// the two AppArmor profiles are byte-identical. Then a real widening (a file outside every
/// run-varying pattern) is still reported. Host only: no VM needed.
#[test]
fn bpf_two_runs_of_a_workload_diff_without_widening() {
    if !require_bpf("bpf_two_runs_of_a_workload_diff_without_widening") {
        return;
    }
    let work = leastpriv_tests::workspace_dir().join("target/leastpriv-diff-runs");
    let scratch = tempdir();
    let kinds: [(&str, &[&str]); 3] = [
        ("apparmor", &["apparmor", "--name", "w"]),
        ("seccomp", &["seccomp"]),
        ("caps", &["capabilities"]),
    ];
    let mut failures = Vec::new();
    // Not the threaded C programs: whether a thread waits on a futex depends on scheduling,
    // and that syscall is then really new in the second run (diff rightly reports it).
    let compared = workloads(&work)
        .into_iter()
        .filter(|w| !["threads", "spawn_kinds"].contains(&w.name));
    for w in compared {
        let dir = work.join(w.name);
        // A first run, not compared: the first of back-to-back recordings sometimes lacks one
        // access kind the others have (git reading `sub/` or `COMMIT_EDITMSG`, a file Python
        // wrote), whether from the recorder or the workload's timing is not found yet; that
        // is no run-varying name and not what this test is about.
        record_run(&w, &dir, &scratch.path().join(format!("{}-0.json", w.name)));
        let mut files = Vec::new();
        for n in 1..=2 {
            let rec = scratch.path().join(format!("{}-{n}.json", w.name));
            record_run(&w, &dir, &rec);
            let mut outs = vec![rec.clone()];
            for (kind, args) in kinds {
                let out = rec.with_extension(kind);
                let mut cmd = leastpriv();
                cmd.arg("generate").args(args).arg(&rec).arg("-o").arg(&out);
                let output = run(cmd);
                assert!(output.status.success(), "{}", describe(&output));
                outs.push(out);
            }
            files.push(outs);
        }
        for (one, two) in files[0].iter().zip(&files[1]) {
            let mut cmd = leastpriv();
            cmd.arg("diff")
                .arg(one)
                .arg(two)
                .args(["--fail-on", "widen"]);
            let output = run(cmd);
            if w.name == "git" {
                // git really does different things from run to run: whether it re-reads
                // a file it wrote or its index (racy timestamps), takes `AUTO_MERGE.lock` or
                // `objects/maintenance.lock`, which object directories it reads (the hashes
                // decide). What must hold is the names: no added line may carry a name that
                // generation generalises.
                let text = String::from_utf8_lossy(&output.stdout);
                for line in text.lines().filter(|l| l.starts_with("+ ")) {
                    let varying = line.contains("tmp_obj_")
                        || line.split(['/', ' ']).any(|c| {
                            matches!(c.len(), 2 | 38) && c.bytes().all(|b| b.is_ascii_hexdigit())
                        });
                    if varying {
                        failures.push(format!("git: a run-varying name in the diff: {line}"));
                    }
                }
                continue;
            }
            if !output.status.success() {
                failures.push(format!(
                    "{}: diff {}:\n{}",
                    w.name,
                    one.display(),
                    describe(&output)
                ));
            }
        }
        let profiles = [&files[0][1], &files[1][1]].map(|p| fs::read_to_string(p).unwrap());
        if profiles[0] != profiles[1] && w.name != "git" {
            let lines = |p: &str| p.lines().map(str::to_owned).collect::<BTreeSet<_>>();
            let (one, two) = (lines(&profiles[0]), lines(&profiles[1]));
            failures.push(format!(
                "{}: the AppArmor profiles of two runs differ:\n- {:?}\n+ {:?}",
                w.name,
                one.difference(&two).collect::<Vec<_>>(),
                two.difference(&one).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // A real widening: the second run also reads a file no rule names.
    let dir = work.join("widen");
    let base = ["/bin/cat", "/etc/hostname"].map(String::from).to_vec();
    let mut wider = base.clone();
    wider.push("/etc/services".into());
    let recs = [("1", base), ("2", wider)].map(|(n, argv)| {
        let rec = scratch.path().join(format!("widen-{n}.json"));
        let w = VmWorkload {
            name: "widen",
            argv,
            needed: None,
        };
        record_run(&w, &dir, &rec);
        rec
    });
    let mut cmd = leastpriv();
    cmd.arg("diff").args(&recs).args(["--fail-on", "widen"]);
    let output = run(cmd);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("/etc/services"),
        "{}",
        describe(&output)
    );
}

/// Each byte as a `\ooo` escape for `printf`: any name, quoted safely for the shell.
fn printf_escaped(name: &[u8]) -> String {
    name.iter().map(|b| format!("\\{b:03o}")).collect()
}

/// The profile of the hostile-names fixture, loaded into the kernel: every hostile name
/// (globs, variables, quotes, a newline, a byte that is not UTF-8, a rule injection) opens,
/// and the names a widened rule would also let through (`starX` for `star*`, `x` for `[x]`,
/// `/etc/shadow` for the injected rule, ...) are denied.
#[test]
fn vm_hostile_names_cannot_widen_in_the_kernel() {
    let Some(vm) = require_vm("vm_hostile_names_cannot_widen_in_the_kernel") else {
        return;
    };
    let scratch = tempdir();
    let fixture =
        leastpriv_tests::workspace_dir().join("tests/fixtures/apparmor-hostile.recording.json");
    let recording = scratch.path().join("hostile.json");
    fs::copy(&fixture, &recording).unwrap();
    let mut profile = generate(&recording, "leastpriv-vm-hostile");
    // The probe is busybox's shell: its own program may run it, nothing more.
    let end = profile.rfind('}').unwrap();
    profile.insert_str(end, "  /usr/bin/busybox ix,\n");
    let allowed: [&[u8]; 14] = [
        b"/srv/hostile/#hash",
        b"/srv/hostile/@{HOME}",
        b"/srv/hostile/[x]",
        b"/srv/hostile/^caret",
        b"/srv/hostile/a,b",
        b"/srv/hostile/bad\xffbyte",
        b"/srv/hostile/new\nline",
        b"/srv/hostile/quote\"d",
        b"/srv/hostile/star*",
        b"/srv/hostile/what?",
        b"/srv/hostile/with space",
        b"/srv/hostile/{braces}",
        b"/srv/odd/back\\slash",
        b"/srv/odd/x\", /** rwlkmix,\n/etc/shadow r",
    ];
    let widened: [&[u8]; 12] = [
        b"/srv/hostile/starX",
        b"/srv/hostile/whatX",
        b"/srv/hostile/x",
        b"/srv/hostile/braces",
        b"/srv/hostile/HOME",
        b"/srv/hostile/caret",
        b"/srv/hostile/a",
        b"/srv/hostile/new",
        b"/srv/hostile/with",
        b"/srv/odd/backslash",
        b"/srv/odd/x",
        b"/etc/shadow",
    ];
    let mut setup = String::from("mount -t tmpfs tmpfs /srv && mkdir -p /srv/hostile /srv/odd\n");
    let mut probe = String::new();
    for (n, name) in allowed.iter().chain(&widened).enumerate() {
        let name = printf_escaped(name);
        if !name.ends_with(&printf_escaped(b"/etc/shadow")) || n < allowed.len() {
            setup.push_str(&format!(
                "f=\"$(printf '{name}')\"; mkdir -p \"$(dirname \"$f\")\" && echo x > \"$f\"\n"
            ));
        }
        probe.push_str(&format!(
            "if cat \"$(printf '{name}')\" > /dev/null 2>&1; then echo ok {n}; else echo no {n}; fi\n"
        ));
    }
    let mut check = Check::new(
        "hostile names",
        Some(profile.clone()),
        Confine::ByName("leastpriv-vm-hostile".into()),
        &["/usr/bin/busybox", "sh", "-c", &probe],
    );
    check.setup = Some(setup);
    let out = vm.run(&[check]).remove(0);
    out.assert_loaded();
    let expected: String = (0..allowed.len() + widened.len())
        .map(|n| format!("{} {n}\n", if n < allowed.len() { "ok" } else { "no" }))
        .collect();
    assert_eq!(out.stdout, expected, "{out}\n--- profile ---\n{profile}");
    for name in ["/srv/hostile/starX", "/srv/hostile/x", "/etc/shadow"] {
        assert!(
            out.denials.iter().any(|l| denied_name(l) == Some(name)),
            "no denial of {name}:\n{out}"
        );
    }
}

/// `leastpriv run --apparmor PROFILE [--complain] -- CMD` in a kernel with AppArmor: an
/// allowed run exits with the command's status and lists nothing; a denied access is listed
/// with the program that made it (exit 1); in complain mode the command gets what it asks
/// for and the access the profile lacks is listed all the same.
#[test]
fn vm_run_apparmor_lists_what_the_profile_denies() {
    let Some(vm) = require_vm("vm_run_apparmor_lists_what_the_profile_denies") else {
        return;
    };
    let profile = vm.work_dir().join("cat.profile");
    fs::write(
        &profile,
        "include <tunables/global>\nprofile leastpriv-vm-run /usr/bin/cat {\n  include <abstractions/base>\n  /etc/hostname r,\n}\n",
    )
    .unwrap();
    let bin = leastpriv_tests::bin();
    let run = |name: &str, extra: &[&str], file: &str| {
        let mut argv = vec![bin.to_str().unwrap(), "run", "--as-root", "--apparmor"];
        argv.push(profile.to_str().unwrap());
        argv.extend(extra);
        argv.extend(["--", "/usr/bin/cat", file]);
        Check::new(name, None, Confine::Unconfined, &argv)
    };
    let out = vm.run(&[
        run("allowed", &[], "/etc/hostname"),
        run("denied", &[], "/etc/passwd"),
        run("complain", &["--complain"], "/etc/passwd"),
    ]);
    assert_eq!(out[0].status, 0, "{}", out[0]);
    assert!(out[0].stderr.contains("denied nothing"), "{}", out[0]);
    for o in &out[1..] {
        assert_eq!(o.status, 1, "{o}");
        assert!(
            o.stdout
                .lines()
                .any(|l| l.starts_with("open\t/etc/passwd\tr\tleastpriv-vm-run\tby cat")),
            "{o}"
        );
    }
    // Complain mode let cat read the file.
    assert!(out[2].stdout.contains("root:"), "{}", out[2]);
    assert!(!out[1].stdout.contains("root:"), "{}", out[1]);
}
