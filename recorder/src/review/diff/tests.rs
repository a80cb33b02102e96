use super::*;
use crate::{
    recording::{syscalls::Abi, Recording},
    review::{
        parse::{
            apparmor::parse_permissions as parse_apparmor, seccomp::permissions as from_seccomp,
        },
        permission::{from_capability_list, from_recording},
    },
};

#[test]
fn a_recording_against_itself_is_empty() {
    let r = Recording::for_tests(&[(Abi::X86_64, 0), (Abi::X86_64, 1)]);
    let d = diff("recording", &from_recording(&r), &from_recording(&r));
    assert!(d.is_empty() && !d.widened());
    assert!(render_text(&d).contains("(equal)"));
}

#[test]
fn ptrace_is_a_high_risk_widening_with_its_cause() {
    let old = Recording::for_tests(&[(Abi::X86_64, 0)]);
    let new = Recording::for_tests(&[(Abi::X86_64, 0), (Abi::X86_64, 101)]);
    let d = diff("recording", &from_recording(&old), &from_recording(&new));
    assert!(d.widened());
    assert_eq!(d.added.len(), 1);
    assert_eq!(d.added[0].risk, Risk::High);
    assert_eq!(d.added[0].by, ["/bin/x"]);
    assert!(render_text(&d).contains("+ [high] syscall ptrace (x86_64)  by /bin/x"));
    let narrowed = diff("recording", &from_recording(&new), &from_recording(&old));
    assert!(!narrowed.widened() && narrowed.removed.len() == 1);
}

#[test]
fn capability_lists_compare_by_name() {
    let d = diff(
        "capabilities",
        &from_capability_list("CHOWN\n"),
        &from_capability_list("# x\nCHOWN\nsys_admin\n"),
    );
    assert_eq!(
        d.added[0].permission,
        Permission::Capability {
            name: "CAP_SYS_ADMIN".into()
        }
    );
    assert_eq!(d.added[0].risk, Risk::High);
}

#[test]
fn markdown_cannot_be_broken_by_names() {
    let change = Change {
        permission: Permission::File {
            path: "/tmp/a`|b\n# x".into(),
            access: "write".into(),
        },
        risk: Risk::Medium,
        by: vec!["/x`y".into()],
    };
    let d = PolicyDiff {
        kind: "recording".into(),
        added: vec![change],
        removed: vec![],
    };
    let md = render_markdown(&d);
    let row = md.lines().find(|l| l.starts_with("| medium")).unwrap();
    assert_eq!(row.matches('`').count(), 4, "{row}");
    assert_eq!(row.matches('|').count(), 4, "{row}");
}

#[test]
fn argument_values_compare_by_name_in_recordings_and_profiles() {
    use crate::{
        policy::seccomp::{decide, SeccompOptions},
        profile::seccomp::render_oci,
        recording::{ArgumentValues, SyscallArguments},
        review::parse::seccomp::parse,
    };
    let with = |values: Vec<u64>, names: &[&str]| {
        let mut r = Recording::for_tests(&[(Abi::X86_64, 41)]);
        r.arguments = Some(std::collections::BTreeMap::from([(
            Abi::X86_64,
            vec![SyscallArguments {
                syscall: "socket".into(),
                arguments: vec![],
                values: vec![ArgumentValues {
                    values,
                    names: names.iter().map(|n| (*n).to_owned()).collect(),
                    count: 1,
                    by: ["/bin/x".into()].into(),
                    runs: vec![],
                }],
            }],
        )]));
        r
    };
    let old = with(vec![2, 1, 0], &["AF_INET", "SOCK_STREAM", "0 (default)"]);
    let new = with(vec![17, 3, 768], &["AF_PACKET", "SOCK_RAW", "0x300"]);
    let d = diff("recording", &from_recording(&old), &from_recording(&new));
    assert_eq!(
        d.added[0].permission.describe(),
        "syscall socket with AF_PACKET SOCK_RAW 0x300"
    );
    assert_eq!(d.added[0].risk, Risk::High);
    // The same from the profiles generated from them.
    let profile = |r: &Recording| {
        let policy = decide(r, SeccompOptions::default());
        from_seccomp(&parse(std::path::Path::new("p.json"), &render_oci(&policy)).unwrap())
    };
    let d = diff("seccomp profile", &profile(&old), &profile(&new));
    let added: Vec<String> = d.added.iter().map(|c| c.permission.describe()).collect();
    assert!(
        added.contains(&"syscall socket with AF_PACKET SOCK_RAW 0x300".to_owned()),
        "{added:?}"
    );
}

#[test]
fn risk_table() {
    let file = |path: &str, access: &str| {
        risk(&Permission::File {
            path: path.into(),
            access: access.into(),
        })
    };
    assert_eq!(file("/etc/passwd", "write"), Risk::High);
    assert_eq!(file("/etc/passwd", "read"), Risk::Low);
    assert_eq!(file("/etc/shadow", "read"), Risk::High);
    assert_eq!(file("/dev/null", "write"), Risk::Low);
    assert_eq!(
        risk(&Permission::Network {
            family: "AF_PACKET".into(),
            kind: "SOCK_RAW".into()
        }),
        Risk::High
    );
    assert_eq!(
        risk(&Permission::Syscall {
            abi: None,
            name: "read".into()
        }),
        Risk::Low
    );
}

#[test]
fn apparmor_file_rules_are_rated_by_every_path_they_match() {
    let rate = |path: &str, access: &str| pattern_risk(path, access);
    assert_eq!(rate("/etc/passwd", "write"), Risk::High);
    assert_eq!(rate("/etc/passwd", "owner write"), Risk::High);
    assert_eq!(rate("/etc/passwd", "read"), Risk::Low);
    assert_eq!(rate("/etc/shadow", "read"), Risk::High);
    assert_eq!(rate("/etc/sh*", "read"), Risk::High);
    assert_eq!(rate("/etc/*.conf", "read"), Risk::Medium);
    assert_eq!(rate("/**", "write"), Risk::High);
    assert_eq!(rate("/{tmp,etc}/x", "write"), Risk::High);
    assert_eq!(rate("/e*/x", "write"), Risk::High);
    assert_eq!(rate("/tmp/*", "write"), Risk::Medium);
    assert_eq!(rate("/srv/www/*", "read"), Risk::Medium);
    assert_eq!(rate("/srv/www/[ab].css", "read"), Risk::Medium);
    assert_eq!(rate("/srv/www/a?css", "read"), Risk::Medium);
    assert_eq!(rate("/srv/www/a.css", "read"), Risk::Low);
    assert_eq!(rate(r"/srv/star\*", "read"), Risk::Low);
    assert_eq!(rate("@{HOME}/.cfg", "read"), Risk::Medium);
    assert_eq!(rate("@{HOME}/.cfg", "write"), Risk::Medium);
    assert_eq!(rate("/proc/@{pid}/stat", "read"), Risk::Medium);
    assert_eq!(rate("/dev/null", "write"), Risk::Low);
    assert_eq!(rate("/dev/sda", "write"), Risk::High);
    assert_eq!(rate("/usr/bin/x", "exec"), Risk::Medium);
    assert_eq!(rate("/usr/bin/x", "exec_Px->other"), Risk::Medium);
    assert_eq!(rate("/usr/bin/x", "exec_Ux"), Risk::High);
    // An unknown variable matches anything where it stands.
    assert_eq!(rate("/srv/@{unknown}/x", "write"), Risk::Medium);
    assert_eq!(rate("@{unknown}/x", "write"), Risk::High);
    assert_eq!(rate("@{unknown}/x", "read"), Risk::Medium);
    assert_eq!(rate("@{unknown}", "read"), Risk::High);
    assert_eq!(rate("/srv/{a,b", "write"), Risk::High);
    assert_eq!(
        risk(&Permission::Abstraction {
            name: "base".into()
        }),
        Risk::Medium
    );
    assert_eq!(
        risk(&Permission::Rule {
            text: "mount fstype=tmpfs".into()
        }),
        Risk::High
    );
    assert_eq!(
        risk(&Permission::Rule {
            text: "flags=(complain)".into()
        }),
        Risk::High
    );
    assert_eq!(
        risk(&Permission::Rule {
            text: "signal (send) peer=x".into()
        }),
        Risk::Medium
    );
    assert_eq!(
        risk(&Permission::Network {
            family: "AF_INET".into(),
            kind: "*".into()
        }),
        Risk::High
    );
    assert_eq!(
        risk(&Permission::Capability { name: "*".into() }),
        Risk::High
    );
}

#[test]
fn apparmor_profiles_diff_by_rule() {
    let old = parse_apparmor("profile p {\n  \"/srv/a\" r,\n  owner /tmp/x w,\n}\n").unwrap();
    let new = parse_apparmor(
            "profile p {\n  include <abstractions/base>\n  /srv/a r,\n  /tmp/x w,\n  \"/etc/passwd\" w,\n}\n",
        )
        .unwrap();
    let d = diff(APPARMOR, &old, &new);
    let added: Vec<(String, Risk)> = d
        .added
        .iter()
        .map(|c| (c.permission.describe(), c.risk))
        .collect();
    assert_eq!(
        added,
        [
            ("file /etc/passwd write".to_owned(), Risk::High),
            ("file /tmp/x write".to_owned(), Risk::Medium),
            ("abstraction base".to_owned(), Risk::Medium),
        ]
    );
    let removed: Vec<String> = d.removed.iter().map(|c| c.permission.describe()).collect();
    assert_eq!(removed, ["file /tmp/x owner write"]);
    assert!(diff(APPARMOR, &new, &new).is_empty());
    // Paths are shown as written in the profile; only control characters are escaped.
    let hostile = Permission::File {
        path: "/srv/a\\\"b\\*\n".into(),
        access: "read".into(),
    };
    assert_eq!(hostile.describe_in(APPARMOR), "file /srv/a\\\"b\\*\\n read");
    assert_eq!(hostile.describe(), "file /srv/a\\\\\\\"b\\\\*\\n read");
}

/// A recording whose workload made and removed these files.
fn with_files(paths: &[(&str, &[&str])]) -> Recording {
    let mut r = Recording::for_tests(&[(Abi::X86_64, 0)]);
    r.files = Some(
        paths
            .iter()
            .map(|(path, access)| {
                serde_json::from_value(serde_json::json!({
                    "path": path, "access": access, "by": ["/bin/x"],
                }))
                .unwrap()
            })
            .collect(),
    );
    r
}

#[test]
fn two_runs_differing_only_in_run_varying_names_are_equal() {
    let run = |obj: &str, probe: &str, inode: &str, pid: &str| {
        with_files(&[
            (&format!("/w/.git/objects/{}/", &obj[..2]), &["mkdir"]),
            (
                &format!("/w/.git/objects/{}/{}", &obj[..2], &obj[2..]),
                &["rename_to", "read"],
            ),
            (&format!("/tmp/{probe}"), &["create", "write", "unlink"]),
            (&format!("/tmp/#{inode}"), &["read", "write"]),
            (&format!("/proc/{pid}/maps"), &["read"]),
            ("/w/out.txt", &["create", "write"]),
        ])
    };
    let one = run(
        "e3a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3",
        "k2_ab9zq",
        "10010720",
        "4242",
    );
    let two = run(
        "07ffd1c2b3a4958677a6b5c4d3e2f1a0b9c8d7e6",
        "abcdefgh",
        "77",
        "999",
    );
    let d = diff("recording", &from_recording(&one), &from_recording(&two));
    assert!(d.is_empty(), "{}", render_text(&d));

    // A real widening is still one: a new file, and an access a varying name did not have.
    let mut wider = run(
        "07ffd1c2b3a4958677a6b5c4d3e2f1a0b9c8d7e6",
        "abcdefgh",
        "77",
        "999",
    );
    wider.files.as_mut().unwrap().extend(
        with_files(&[("/etc/shadow", &["read"]), ("/tmp/abcdefgh", &["exec"])])
            .files
            .unwrap(),
    );
    let d = diff("recording", &from_recording(&one), &from_recording(&wider));
    let added: Vec<String> = d.added.iter().map(|c| c.permission.describe()).collect();
    assert_eq!(added.len(), 2, "{}", render_text(&d));
    assert!(added.iter().any(|a| a.contains("/etc/shadow")), "{added:?}");
    assert!(
        added
            .iter()
            .any(|a| a.contains("/tmp/????????") && a.contains("exec")),
        "{added:?}"
    );
}
