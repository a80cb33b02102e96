use super::*;
use crate::recording::Recording;

fn recording(syscalls: &[(Abi, i64)]) -> Recording {
    Recording::for_tests(syscalls)
}

#[test]
fn allows_what_was_seen_plus_vdso_and_probes_get_enosys() {
    // read, write, clone3 on x86_64.
    let policy = decide(
        &recording(&[(Abi::X86_64, 0), (Abi::X86_64, 1), (Abi::X86_64, 435)]),
        SeccompOptions::default(),
    );
    assert_eq!(policy.abis, BTreeSet::from([Abi::X86_64]));
    assert_eq!(
        policy.recorded().collect::<Vec<_>>(),
        ["clone3", "read", "write"]
    );
    assert!(policy.allow.contains_key("clock_gettime"));
    assert!(
        !policy.allow.contains_key("clock_gettime64"),
        "time64 calls are ia32 only"
    );
    assert!(policy.enosys.contains("faccessat2"));
    assert!(
        !policy.enosys.contains("clone3"),
        "a probe that was seen is allowed"
    );
}

#[test]
fn vdso_defaults_can_be_turned_off() {
    let options = SeccompOptions {
        allow_vdso: false,
        ..SeccompOptions::default()
    };
    let policy = decide(&recording(&[(Abi::X86_64, 0)]), options);
    assert_eq!(policy.allow.keys().collect::<Vec<_>>(), ["read"]);
}

#[test]
fn ia32_recordings_cover_the_x86_architecture_and_time64() {
    let policy = decide(&recording(&[(Abi::Ia32, 4)]), SeccompOptions::default());
    assert_eq!(policy.abis, BTreeSet::from([Abi::Ia32]));
    assert!(policy.allow.contains_key("write"));
    assert!(policy.allow.contains_key("clock_gettime64"));
}

#[test]
fn unnamed_numbers_are_reported_not_allowed() {
    let policy = decide(
        &recording(&[(Abi::X86_64, 1000)]),
        SeccompOptions::default(),
    );
    assert_eq!(policy.unnamed, [(Abi::X86_64, 1000)]);
    assert!(policy.recorded().next().is_none());
}

#[test]
fn runtime_additions_have_their_reason() {
    let options = SeccompOptions {
        runtime: Runtime::Runc,
        ..SeccompOptions::default()
    };
    let policy = decide(&recording(&[(Abi::X86_64, 0)]), options);
    assert!(policy.allow["fstatfs"].contains(&Reason::Runtime(Runtime::Runc)));
}

fn with_arguments(syscalls: &[(Abi, i64)], values: &[(&str, Vec<u64>)]) -> Recording {
    use crate::recording::{ArgumentValues, SyscallArguments};
    let mut r = recording(syscalls);
    let list = values
        .iter()
        .map(|(name, vals)| SyscallArguments {
            syscall: (*name).into(),
            arguments: vec![],
            values: vec![ArgumentValues {
                values: vals.clone(),
                names: vec![],
                count: 1,
                by: Default::default(),
                runs: vec![],
            }],
        })
        .collect();
    r.arguments = Some(BTreeMap::from([(Abi::X86_64, list)]));
    r
}

#[test]
fn recorded_argument_values_become_conditions() {
    // socket (41) and clone3 (435) with their values.
    let r = with_arguments(
        &[(Abi::X86_64, 41), (Abi::X86_64, 435)],
        &[("socket", vec![2, 1, 0]), ("clone3", vec![0])],
    );
    let policy = decide(&r, SeccompOptions::default());
    let socket = &policy.conditions["socket"];
    assert_eq!(socket.len(), 1);
    let rule: Vec<(u32, u64, u64)> = socket
        .iter()
        .next()
        .unwrap()
        .iter()
        .map(|c| (c.index, c.mask, c.value))
        .collect();
    assert_eq!(
        rule,
        [(0, 0xffff_ffff, 2), (1, 0xf, 1), (2, 0xffff_ffff, 0)]
    );
    // clone3 cannot be checked: ENOSYS, and clone carries its flags.
    assert!(policy.enosys.contains("clone3") && !policy.allow.contains_key("clone3"));
    assert!(policy.allow.contains_key("clone"));
    assert_eq!(
        policy.conditions["clone"].iter().next().unwrap()[0].value,
        0
    );
    assert!(!policy
        .unconditional()
        .any(|n| n == "socket" || n == "clone"));
}

#[test]
fn no_conditions_when_off_or_when_values_were_lost() {
    let r = with_arguments(&[(Abi::X86_64, 41)], &[("socket", vec![2, 1, 0])]);
    let off = decide(
        &r,
        SeccompOptions {
            arguments: false,
            ..SeccompOptions::default()
        },
    );
    assert!(off.conditions.is_empty() && off.unconditional().any(|n| n == "socket"));
    let mut lossy = r.clone();
    lossy.lost.argument_values = 3;
    let policy = decide(&lossy, SeccompOptions::default());
    assert!(policy.conditions.is_empty());
    assert!(policy
        .arguments_note
        .unwrap()
        .contains("3 argument values were lost"));
}
