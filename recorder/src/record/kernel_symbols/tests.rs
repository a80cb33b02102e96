use super::*;

const DECIDED_FRAMES: usize = recorder_common::DECIDED_STACK_DEPTH as usize;

fn stack(frames: &[&str]) -> Vec<String> {
    frames.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn memory_accounting_checks_are_probes() {
    let s = stack(&[
        "cap_capable",
        "security_vm_enough_memory_mm",
        "do_brk_flags",
        "__do_sys_brk",
    ]);
    assert_eq!(classify(Some(&s)).audit, Audit::Probe);
}

/// What the kernel program keeps for a check decided by its caller (the runner,
/// `cap_capable`, the caller) must classify exactly as the whole stack would, and only
/// callers outside the capability layer may decide: `security_capable` or a `*_noaudit`
/// helper says nothing about the code that asked.
#[test]
fn a_deciding_caller_classifies_its_check_alone() {
    let deciding: Vec<&str> = NOAUDIT
        .iter()
        .copied()
        .filter(|f| decided_by_direct_caller(f))
        .collect();
    assert!(
        deciding.contains(&"security_vm_enough_memory_mm"),
        "{deciding:?}"
    );
    for caller in deciding {
        let whole = stack(&[
            "bpf_trace_run5",
            "cap_capable",
            caller,
            "__mmap_region",
            "do_mmap",
            "vm_mmap_pgoff",
            "ksys_mmap_pgoff",
            "do_syscall_64",
            "entry_SYSCALL_64_after_hwframe",
        ]);
        let kept = &whole[..DECIDED_FRAMES];
        assert_eq!(classify(Some(&whole)), classify(Some(kept)), "{caller}");
        assert_eq!(classify(Some(kept)).via.as_deref(), Some(caller));
    }
    for layer in [
        "security_capable",
        "ns_capable_noaudit",
        "has_capability_noaudit",
    ] {
        assert!(!decided_by_direct_caller(layer), "{layer}");
    }
    assert!(!decided_by_direct_caller("kill_ok_by_cred"));
}

#[test]
fn ordinary_checks_are_audited_and_name_their_caller() {
    let s = stack(&[
        "cap_capable",
        "security_capable",
        "ns_capable",
        "capable",
        "kill_ok_by_cred",
        "kill_pid_info",
    ]);
    let c = classify(Some(&s));
    assert_eq!(c.audit, Audit::Audited);
    assert_eq!(c.via.as_deref(), Some("kill_ok_by_cred"));
    // The program that records the check sits above it on the stack: not the caller.
    let traced = stack(&[
        "bpf_prog_a3bae7771525be55_cap_capable\t[bpf]",
        "bpf_trace_run5",
        "cap_capable",
        "capable",
        "kill_ok_by_cred",
    ]);
    assert_eq!(
        classify(Some(&traced)).via.as_deref(),
        Some("kill_ok_by_cred")
    );
    assert_eq!(classify(None).audit, Audit::Unknown);
}

#[test]
fn kallsyms_text_resolves_only_what_is_asked() {
    let text = "ffffffff81000000 T _stext\nffffffff81000100 T cap_capable\nffffffff81000200 t helper\n0000000000000000 A zero\nffffffffc0000000 t mod_fn\t[mod]\n";
    let ips = BTreeSet::from([
        0xffff_ffff_8100_0150,
        0xffff_ffff_8100_0250,
        0xffff_ffff_c000_0010,
    ]);
    let (symbols, core) = KernelSymbols::from_kallsyms(text, &ips);
    assert_eq!(symbols.name(0xffff_ffff_8100_0150), Some("cap_capable"));
    assert_eq!(symbols.name(0xffff_ffff_8100_0250), Some("helper"));
    assert_eq!(symbols.name(0xffff_ffff_c000_0010), Some("mod_fn"));
    // Module functions can move within a boot: never cached.
    assert_eq!(
        core,
        [
            (0xffff_ffff_8100_0150, "cap_capable".to_owned()),
            (0xffff_ffff_8100_0250, "helper".to_owned())
        ]
    );
}

#[test]
fn symbols_resolve_to_the_enclosing_function() {
    let symbols = KernelSymbols::new(BTreeMap::from([(0x1000, "a".into()), (0x2000, "b".into())]));
    assert_eq!(symbols.name(0x1fff), Some("a"));
    assert_eq!(symbols.name(0x2000), Some("b"));
    assert_eq!(symbols.name(0x10), None);
}
