//! Recording files are read on machines other than the one that recorded them: any text
//! must give a recording or an error, and a recording must survive writing and reading back
//! unchanged (the same value, the same bytes).
#![no_main]

use std::path::Path;

use leastpriv::recording::Recording;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let path = Path::new("fuzz.recording.json");
    let Ok(recording) = Recording::from_json(path, text) else {
        return;
    };
    let written = recording.to_json();
    let read_back = Recording::from_json(path, &written)
        .unwrap_or_else(|e| panic!("to_json wrote what from_json refuses: {e}\n{written}"));
    assert_eq!(
        read_back, recording,
        "the value changed through to_json/from_json"
    );
    assert_eq!(read_back.to_json(), written, "to_json is not stable");
});
