//! AppArmor profiles proven by real enforcement, in a VM whose kernel has AppArmor (see
//! tests/src/vm/): profiles generated from one recorded run must let the next runs of the
//! same workload through with no denial, must deny what a removed rule allowed, and must not
//! be widened by hostile file names.

use leastpriv_tests::vm::{require_vm, Check, Confine};

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
