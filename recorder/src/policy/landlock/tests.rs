use super::*;
use crate::recording::{FileAccess, Recording, SocketUse};

fn recording(files: &[(&str, &[Access])]) -> Recording {
    let mut recording = Recording::for_tests(&[]);
    recording.files = Some(
        files
            .iter()
            .map(|(path, access)| {
                FileAccess::new(
                    path.as_bytes().to_vec(),
                    Accesses::of(access),
                    Default::default(),
                )
            })
            .collect(),
    );
    recording.sockets = Some(vec![]);
    recording
}

fn rights(policy: &LandlockPolicy, path: &str) -> Vec<&'static str> {
    policy
        .paths
        .get(path)
        .map(|rule| rule.access.names())
        .unwrap_or_default()
}

#[test]
fn files_get_file_rights_and_directories_what_was_done_in_them() {
    let policy = decide(
        &recording(&[
            ("/etc/hosts", &[Access::Read]),
            ("/usr/bin/true", &[Access::Exec]),
            ("/var/log/app.log", &[Access::Append]),
            ("/srv/data/", &[Access::Read]),
            ("/srv/data/old", &[Access::Unlink]),
            ("/srv/data/new", &[Access::Create, Access::Write]),
        ]),
        7,
    )
    .unwrap();
    assert_eq!(rights(&policy, "/etc/hosts"), ["read_file"]);
    assert_eq!(rights(&policy, "/usr/bin/true"), ["execute", "read_file"]);
    assert_eq!(rights(&policy, "/var/log/app.log"), ["write_file"]);
    // The new file does not exist when a run starts: its rights are on its directory.
    assert_eq!(
        rights(&policy, "/srv/data"),
        [
            "write_file",
            "read_dir",
            "remove_file",
            "make_reg",
            "truncate"
        ]
    );
    assert!(!policy.paths.contains_key("/srv/data/new"));
    assert!(!policy.paths.contains_key("/srv/data/old"));
    assert_eq!(policy.handled_fs, FsRights::all(7));
    assert_eq!(policy.scoped.names(), ["abstract_unix_socket", "signal"]);
}

#[test]
fn varying_names_go_to_their_stable_directory_with_only_their_rights() {
    let policy = decide(
        &recording(&[
            ("/proc/4242/status", &[Access::Read]),
            ("/tmp/tmpa1B2c3/", &[Access::Mkdir, Access::Rmdir]),
            (
                "/tmp/tmpa1B2c3/out",
                &[Access::Create, Access::Write, Access::Unlink],
            ),
            ("/usr/lib/libz.so.1.2.13", &[Access::Read, Access::MmapExec]),
            ("/home/alice/.profile", &[Access::Read]),
        ]),
        7,
    )
    .unwrap();
    assert_eq!(rights(&policy, "/proc"), ["read_file"]);
    assert!(policy.paths["/proc"]
        .reasons
        .generalised
        .contains(Generalisation::ProcPid));
    // The temporary directory and what was done in it: on /tmp, no more.
    assert_eq!(
        rights(&policy, "/tmp"),
        [
            "write_file",
            "remove_dir",
            "remove_file",
            "make_dir",
            "make_reg",
            "truncate"
        ]
    );
    assert!(policy.paths["/tmp"].reasons.made);
    assert_eq!(rights(&policy, "/usr/lib"), ["execute", "read_file"]);
    // home is kept as recorded.
    assert_eq!(rights(&policy, "/home/alice/.profile"), ["read_file"]);
    assert!(!policy.paths.contains_key("/home"));
}

#[test]
fn rules_covered_by_a_directory_above_are_left_out() {
    let policy = decide(
        &recording(&[
            ("/proc/1/status", &[Access::Read]),
            ("/proc/sys/kernel/ngroups_max", &[Access::Read]),
        ]),
        7,
    )
    .unwrap();
    assert_eq!(policy.paths.keys().collect::<Vec<_>>(), ["/proc"]);
}

#[test]
fn hostile_paths_never_widen_a_rule() {
    let mut rec = recording(&[
        ("/etc/../etc/shadow", &[Access::Read]),
        ("/tmp/x\0y", &[Access::Read]),
        ("/tmp/ok\n\"quoted\"", &[Access::Read]),
    ]);
    rec.files.as_mut().unwrap().push(FileAccess::new(
        b"/srv/\xff\xfe".to_vec(),
        Accesses::of(&[Access::Create]),
        Default::default(),
    ));
    let policy = decide(&rec, 7).unwrap();
    // Only the exact, UTF-8, canonical path, as itself.
    assert_eq!(
        policy.paths.keys().collect::<Vec<_>>(),
        ["/tmp/ok\n\"quoted\""]
    );
    assert!(policy
        .notes
        .iter()
        .any(|n| matches!(n, Note::NotUtf8 { .. })));
    assert_eq!(
        policy
            .notes
            .iter()
            .filter(|n| matches!(n, Note::NotAPath { .. }))
            .count(),
        2
    );
}

#[test]
fn the_abi_decides_what_is_handled() {
    let rec = recording(&[
        ("/etc/hosts", &[Access::Read]),
        ("/dev/null", &[Access::Write]),
    ]);
    let v1 = decide(&rec, 1).unwrap();
    assert_eq!(v1.handled_fs, FsRights::all(1));
    assert_eq!(rights(&v1, "/dev/null"), ["write_file"]);
    assert!(v1.scoped.is_empty());
    assert!(v1.notes.contains(&Note::NoScopes { abi: 1 }));
    assert!(decide(&rec, 8).is_err());
    assert!(decide(&rec, 0).is_err());
}

#[test]
fn scopes_follow_what_was_recorded() {
    let mut rec = recording(&[("/etc/hosts", &[Access::Read])]);
    rec.sockets = Some(vec![SocketUse {
        family: "AF_UNIX".into(),
        kind: "SOCK_STREAM".into(),
        protocol: 0,
        by: Default::default(),
        runs: vec![],
    }]);
    let policy = decide(&rec, 7).unwrap();
    assert_eq!(policy.scoped.names(), ["signal"]);
    assert!(policy.notes.contains(&Note::UnixSocketsUsed));
}

#[test]
fn recorded_tcp_ports_become_port_rules() {
    use crate::recording::{PortOp, PortUse};
    let mut rec = recording(&[("/etc/hosts", &[Access::Read])]);
    let port = |protocol: &str, op, port| PortUse {
        protocol: protocol.into(),
        op,
        family: "AF_INET".into(),
        port,
        loopback: true,
        by: Default::default(),
        runs: vec![],
    };
    rec.ports = Some(vec![
        port("tcp", PortOp::Bind, 8080),
        port("tcp", PortOp::Connect, 8080),
        port("tcp", PortOp::Connect, 443),
        port("udp", PortOp::Bind, 53),
    ]);
    let policy = decide(&rec, 7).unwrap();
    assert_eq!(policy.handled_net.names(), ["bind_tcp", "connect_tcp"]);
    assert_eq!(policy.ports.len(), 2);
    assert_eq!(policy.ports[&8080].names(), ["bind_tcp", "connect_tcp"]);
    assert_eq!(policy.ports[&443].names(), ["connect_tcp"]);
    // Older ABIs have no network rights; recordings without ports leave TCP alone.
    assert!(decide(&rec, 3).unwrap().handled_net.is_empty());
    rec.ports = None;
    let unknown = decide(&rec, 7).unwrap();
    assert!(unknown.handled_net.is_empty());
    assert!(unknown.notes.contains(&Note::PortsNotRecorded));
}

#[test]
fn a_recording_without_files_is_refused() {
    let rec = Recording::for_tests(&[]);
    assert!(matches!(
        decide(&rec, 7),
        Err(LandlockPolicyError::FilesNotRecorded)
    ));
}
