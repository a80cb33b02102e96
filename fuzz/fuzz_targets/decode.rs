//! Ring buffer records: the recorder checks them as if they came from anywhere, so no byte
//! string may panic the decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = leastpriv::record::decode::decode(bytes);
});
