//! `merge` and `diff` on two recordings, each taken from one half of the input (split at the
//! first NUL byte, which JSON text never holds, or else in the middle): whatever two
//! recordings parse, merging and comparing them must not panic.
#![no_main]

use std::path::Path;

use leastpriv::review::{diff, permission::from_recording};
use leastpriv::recording::merge::merge;
use leastpriv::recording::Recording;
use libfuzzer_sys::fuzz_target;

fn parse(bytes: &[u8]) -> Option<Recording> {
    let text = std::str::from_utf8(bytes).ok()?;
    Recording::from_json(Path::new("fuzz.recording.json"), text).ok()
}

fuzz_target!(|bytes: &[u8]| {
    let split = bytes
        .iter()
        .position(|&b| b == 0)
        .map_or(bytes.len() / 2, |nul| nul);
    let (first, second) = (&bytes[..split], &bytes[split..]);
    let second = second.strip_prefix(b"\0").unwrap_or(second);
    let (Some(old), Some(new)) = (parse(first), parse(second)) else {
        return;
    };

    let merged = merge(&[(old.clone(), "old".into()), (new.clone(), "new".into())])
        .expect("two recordings always merge");
    let merged = merged.to_json();
    Recording::from_json(Path::new("merged.json"), &merged)
        .unwrap_or_else(|e| panic!("a merge is not a valid recording: {e}\n{merged}"));

    let policy_diff = diff::diff("recording", &from_recording(&old), &from_recording(&new));
    let _ = diff::render_text(&policy_diff);
    let _ = diff::render_markdown(&policy_diff);
    let _ = diff::render_json(&policy_diff);
});
