use std::path::Path;

use super::*;
use crate::recording::{FileAccess, Recording};

const CONTEXTS: &str = "\
/.*\tsystem_u:object_r:default_t:s0
/\t-d\tsystem_u:object_r:root_t:s0
/etc(/.*)?\tsystem_u:object_r:etc_t:s0
/tmp\t-d\tsystem_u:object_r:tmp_t:s0
/tmp/.*\t<<none>>
/usr(/.*)?\tsystem_u:object_r:usr_t:s0
/usr/bin(/.*)?\tsystem_u:object_r:bin_t:s0
/usr/lib(/.*)?\tsystem_u:object_r:lib_t:s0
/var/lib(/.*)?\tsystem_u:object_r:var_lib_t:s0
/dev/null\t-c\tsystem_u:object_r:null_device_t:s0
";

fn contexts() -> FileContexts {
    FileContexts::parse(
        &[(Path::new("file_contexts"), CONTEXTS)],
        "/lib64 /usr/lib\n",
    )
    .unwrap()
}

fn file(path: &[u8], access: &[Access]) -> FileAccess {
    FileAccess::new(path.to_vec(), Accesses::of(access), Default::default())
}

fn recording(files: Vec<FileAccess>) -> Recording {
    let mut recording = Recording::for_tests(&[]);
    recording.target = Target::Command(vec!["/usr/bin/app".into(), "--flag".into()]);
    recording.executables = vec![crate::recording::Executable {
        runs: vec![],
        path: "/usr/bin/app".into(),
        execs: 1,
    }];
    recording.files = Some(files);
    recording
}

fn permissions<'a>(policy: &'a SelinuxPolicy, file_type: &str, class: &str) -> Vec<&'a str> {
    policy
        .allow
        .get(&(file_type.to_owned(), class_name(class)))
        .map(|r| r.permissions.iter().copied().collect())
        .unwrap_or_default()
}

fn class_name(class: &str) -> &'static str {
    [
        "file",
        "dir",
        "lnk_file",
        "chr_file",
        "fd",
        "process",
        "capability",
    ]
    .into_iter()
    .find(|c| *c == class)
    .expect("a class of these tests")
}

#[test]
fn files_get_their_types_least_permissions_and_the_walk_to_them() {
    let rec = recording(vec![
        file(b"/etc/passwd", &[Access::Read]),
        file(b"/var/lib/app/state", &[Access::Write, Access::Create]),
        file(b"/usr/lib/libc.so.6", &[Access::Read, Access::MmapExec]),
        file(b"/dev/null", &[Access::Write]),
        file(b"/etc/", &[Access::Read]),
    ]);
    let policy = decide(&rec, &contexts(), &SelinuxOptions::default()).unwrap();
    assert_eq!(policy.domain, "app_t");
    assert_eq!(
        permissions(&policy, "etc_t", "file"),
        ["getattr", "open", "read"]
    );
    assert_eq!(
        permissions(&policy, "etc_t", "dir"),
        ["getattr", "open", "read", "search"]
    );
    assert_eq!(
        permissions(&policy, "var_lib_t", "file"),
        ["create", "getattr", "open", "write"]
    );
    // The directory the file was made in: a name added; its ancestors searched.
    assert_eq!(
        permissions(&policy, "var_lib_t", "dir"),
        ["add_name", "getattr", "search", "write"]
    );
    assert_eq!(permissions(&policy, "root_t", "dir"), ["getattr", "search"]);
    assert_eq!(
        permissions(&policy, "lib_t", "file"),
        ["execute", "getattr", "map", "open", "read"]
    );
    assert_eq!(
        permissions(&policy, "null_device_t", "chr_file"),
        ["getattr", "open", "write"]
    );
    // The command's program enters the domain.
    assert!(permissions(&policy, "bin_t", "file").contains(&"entrypoint"));
    // Nothing it did not do.
    assert!(permissions(&policy, "etc_t", "file")
        .iter()
        .all(|p| *p != "write"));
}

#[test]
fn unlabelled_and_hostile_paths_are_left_out_and_never_written() {
    let rec = recording(vec![
        file(b"/tmp/tmp.x7Qz", &[Access::Write, Access::Create]),
        file(
            b"/etc/\n(allow app_t shadow_t (file (read)))",
            &[Access::Read],
        ),
        file(b"relative/file", &[Access::Read]),
        file(b"/etc/../etc/shadow", &[Access::Read]),
    ]);
    let policy = decide(&rec, &contexts(), &SelinuxOptions::default()).unwrap();
    // No part of a path is kept: the policy holds types, permissions and counts only.
    let held = format!("{policy:?}");
    assert!(!held.contains("shadow"), "{held}");
    assert!(!held.contains("x7Qz"), "{held}");
    // The /tmp file itself is not typed; its directory is, and may get the new name.
    assert!(policy
        .allow
        .keys()
        .all(|(t, c)| !(t == "tmp_t" && *c == "file")));
    assert_eq!(
        permissions(&policy, "tmp_t", "dir"),
        ["add_name", "getattr", "search", "write"]
    );
    assert!(
        policy
            .notes
            .iter()
            .any(|n| n.contains("leaves unlabelled (file_contexts:5)")),
        "{:?}",
        policy.notes
    );
    assert!(policy.notes.iter().any(|n| n.contains("relative path")));
    assert!(policy.notes.iter().any(|n| n.contains("`..`")));
    // A line feed in a file name: no pattern's `.` matches it (as in libselinux), so no
    // type; and it never reaches the text.
    assert!(permissions(&policy, "etc_t", "file").is_empty());
    assert!(policy
        .notes
        .iter()
        .any(|n| n.contains("no file-contexts line matches")));
}

#[test]
fn proc_entries_of_the_process_are_its_own_and_the_rest_genfs_defaults() {
    let rec = recording(vec![
        file(b"/proc/self/maps", &[Access::Read]),
        file(b"/proc/4242/status", &[Access::Read]),
        file(b"/proc/meminfo", &[Access::Read]),
        file(b"/sys/devices/system/cpu/online", &[Access::Read]),
    ]);
    let policy = decide(&rec, &contexts(), &SelinuxOptions::default()).unwrap();
    assert_eq!(
        permissions(&policy, SELF, "file"),
        ["getattr", "open", "read"]
    );
    assert_eq!(
        permissions(&policy, "proc_t", "file"),
        ["getattr", "open", "read"]
    );
    assert_eq!(
        permissions(&policy, "sysfs_t", "file"),
        ["getattr", "open", "read"]
    );
}

#[test]
fn the_same_recording_gives_the_same_module_and_names_are_checked() {
    let rec = recording(vec![file(b"/etc/passwd", &[Access::Read])]);
    let a = decide(&rec, &contexts(), &SelinuxOptions::default()).unwrap();
    let b = decide(&rec, &contexts(), &SelinuxOptions::default()).unwrap();
    assert_eq!(a, b);
    for bad in ["App", "1app", "a-b", "a b", ""] {
        let options = SelinuxOptions {
            name: Some(bad.into()),
        };
        assert!(matches!(
            decide(&rec, &contexts(), &options),
            Err(SelinuxPolicyError::BadName(_))
        ));
    }
    let mut hostile = rec.clone();
    hostile.target = Target::Command(vec!["./My App!(x)".into()]);
    let policy = decide(&hostile, &contexts(), &SelinuxOptions::default()).unwrap();
    assert_eq!(policy.domain, "my_app__x__t");
}

#[test]
fn a_recording_without_files_is_refused() {
    let mut rec = recording(vec![]);
    rec.files = None;
    assert!(matches!(
        decide(&rec, &contexts(), &SelinuxOptions::default()),
        Err(SelinuxPolicyError::NoFiles)
    ));
}
