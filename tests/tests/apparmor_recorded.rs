//! AppArmor profiles from real recordings: a workload touching known files (a read-only
//! config, a written log, an appended file, a temp file, renames and links, a lock, an
//! executed helper, a unix and an inet socket) gets exactly the expected rules, and the
//! profile parses with apparmor_parser. (The recorded files themselves are compared with
//! strace in tests/tests/files.rs.)

use std::{
    fs,
    path::{Path, PathBuf},
};

use leastpriv_tests::apparmor::assert_parses;
use leastpriv_tests::{
    describe, leastpriv, record, require_bpf, run, tempdir, workloads::build_workload,
    workspace_dir,
};

/// `generate apparmor -o FILE` on a recording (written into `scratch` first): FILE and the
/// profile's text.
fn apparmor_profile_of(recording_json: &serde_json::Value, scratch: &Path) -> (PathBuf, String) {
    let recording = scratch.join("rec.json");
    fs::write(&recording, serde_json::to_string(recording_json).unwrap()).unwrap();
    let out = scratch.join("profile");
    let mut cmd = leastpriv();
    cmd.args(["generate", "apparmor"])
        .arg(&recording)
        .arg("-o")
        .arg(&out);
    let output = run(cmd);
    assert!(output.status.success(), "{}", describe(&output));
    let profile = fs::read_to_string(&out).unwrap();
    (out, profile)
}

/// The profile's rule lines that mention `dir`, with `dir` replaced by `DIR`.
fn rules_under(profile: &str, dir: &Path) -> Vec<String> {
    let dir = dir.to_str().unwrap();
    profile
        .lines()
        .filter(|l| l.contains(dir))
        .map(|l| l.trim().replace(dir, "DIR"))
        .collect()
}

#[test]
fn bpf_profile_of_a_recorded_workload_has_exactly_the_expected_rules() {
    if !require_bpf("bpf_profile_of_a_recorded_workload_has_exactly_the_expected_rules") {
        return;
    }
    let program = build_workload("files_basic", &[]);
    let program = fs::canonicalize(program).unwrap();
    let scratch = tempdir();
    // A fixed directory: a random temporary name would itself be generalised (rightly) by the
    // temp-name rule, and the assertions are about the files inside.
    let dir = workspace_dir().join("target/apparmor-recorded/work");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for name in ["config", "appended", "old", "modes", "lockfile"] {
        fs::write(dir.join(name), "content\n").unwrap();
    }
    let rec = record(&[
        "--as-root",
        "--",
        program.to_str().unwrap(),
        dir.to_str().unwrap(),
    ]);
    assert!(rec.status.success(), "{}", rec.stderr);
    let (out, profile) = apparmor_profile_of(&rec.json, scratch.path());

    let expected = [
        r#""DIR/appended" a,"#,
        r#""DIR/config" r,"#,
        r#"owner "DIR/dir/" w,"#,
        r#""DIR/hardlink" l,"#,
        r#""DIR/lockfile" rk,"#,
        r#"owner "DIR/log" w,"#,
        r#""DIR/modes" w,"#,
        r#"owner "DIR/new" w,"#,
        r#""DIR/old" rw,"#,
        r#"owner "DIR/symlink" w,"#,
        r#"owner "DIR/tmp.??????" rw,  # leastpriv: temp-name"#,
    ];
    assert_eq!(rules_under(&profile, &dir), expected, "profile:\n{profile}");
    for line in [
        "network inet stream,",
        "network unix stream,",
        r#""/usr/bin/true" ix,"#,
    ] {
        assert!(
            profile.lines().any(|l| l.trim() == line),
            "missing {line}:\n{profile}"
        );
    }
    assert!(
        profile.contains(&format!("\"{}\" {{", program.display())),
        "attached to the program:\n{profile}"
    );

    assert_parses(&out);
}

/// File names that mean something in AppArmor rules, globs, JSON or shells, and a byte that is
/// not UTF-8, really created and read by a workload.
const HOSTILE_NAMES: [&[u8]; 12] = [
    b"new\nline",
    b"com,ma",
    b"dq\"uote",
    b"{brace}",
    b"@{HOME}",
    b"#hash",
    b"star*",
    b"que?",
    b"[x]",
    b"^caret",
    b"sp ace",
    b"bad\xffbyte",
];

/// A profile from a real recording of hostile names parses, and has exactly one rule per name,
/// each matching only that name: no rule widens (no unescaped glob or variable survives).
#[test]
fn bpf_hostile_names_in_a_real_recording_give_literal_rules() {
    if !require_bpf("bpf_hostile_names_in_a_real_recording_give_literal_rules") {
        return;
    }
    let program = build_workload("files_names", &[]);
    let scratch = tempdir();
    let dir = workspace_dir().join("target/apparmor-recorded/hostile");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let names = scratch.path().join("names");
    fs::write(&names, HOSTILE_NAMES.join(&0u8)).unwrap();
    let rec = record(&[
        "--as-root",
        "--",
        &program,
        dir.to_str().unwrap(),
        names.to_str().unwrap(),
        "--read-back",
    ]);
    assert!(rec.status.success(), "{}", rec.stderr);
    let (out, profile) = apparmor_profile_of(&rec.json, scratch.path());
    let rules = rules_under(&profile, &dir);
    assert_eq!(
        rules.len(),
        HOSTILE_NAMES.len(),
        "one rule per name:\n{profile}"
    );
    for rule in &rules {
        // Every glob or variable character is escaped: the rule's path is literal.
        let path = rule.split('"').nth(1).unwrap_or_default();
        let mut chars = path.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '*' | '?' | '[' | ']' | '{' | '}' | '^' => panic!("unescaped {c} in {rule}"),
                '@' => assert!(!path.contains("@{"), "variable in {rule}"),
                _ => {}
            }
        }
        assert!(
            !rule.contains("# leastpriv"),
            "a hostile name was generalised: {rule}"
        );
    }
    assert_parses(&out);
}
