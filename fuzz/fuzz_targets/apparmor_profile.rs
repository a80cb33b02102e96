//! `check` and `diff` read AppArmor profiles that anyone may have written: parsing must not
//! panic, and neither must turning what parses into permissions (for `diff`) or into a
//! checker (every file rule compiled by the glob engine, for `check`), nor matching a few
//! paths with that checker.
#![no_main]

use leastpriv::review::parse::apparmor::{parse, permissions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(profile) = parse(text) else {
        return;
    };
    let _ = permissions(&profile);
    let checker = profile.checker();
    for path in [
        &b"/"[..],
        b"/etc/passwd",
        b"/home/user/.config/app/",
        b"/proc/1234/task/1235/stat",
        b"/tmp/tmpAb12Cd/x\xff\x01y",
    ] {
        let _ = checker.file(path);
    }
});
