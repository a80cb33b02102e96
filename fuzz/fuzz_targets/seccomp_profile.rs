//! `leastpriv run --seccomp` and `diff` read profiles that anyone may have written: parsing
//! must not panic, and neither must compiling a profile that parsed (libseccomp may refuse it
//! with an error).
#![no_main]

use std::path::Path;

use leastpriv::enforce::seccomp::{Mode, SeccompProgram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Ok(profile) = leastpriv::review::parse::seccomp::parse(Path::new("fuzz.seccomp.json"), text)
    else {
        return;
    };
    for mode in [Mode::Enforce, Mode::Complain] {
        let _ = SeccompProgram::compile(&profile, mode);
    }
});
