//! leastpriv: record what a program does in the kernel and turn it into least-privilege
//! profiles.
//!
//! The crate is laid out in wings, in the order data flows through them; read them in this
//! order and none sends you back to one already passed:
//!
//! | wing | holds | may import |
//! | --- | --- | --- |
//! | [`recording`] | the contract read without root: the Recording file, merge, syscall, argument and capability names, recorded paths | nothing of this crate |
//! | [`record`] | what needs root and the kernel: `kernel/` (the only aya user), decode, observations, the accumulator, the run loop, following containers, assembling a Recording, launching the command, cgroups | `recording` |
//! | [`policy`] | Recording → Policy, one module per output: every decision, with its reason | `recording` |
//! | [`profile`] | Policy → text, one module per output, nothing else | `policy`, `recording` |
//! | [`review`] | the permission vocabulary, profile parsers (text → permissions), diff, check | `profile`, `policy`, `recording` |
//! | [`enforce`] | applying a profile to a command | `review`, `profile`, `policy`, `record`, `recording` |
//!
//! The binary (`main.rs`, `cli.rs`, `exit.rs`, `commands/`) is glue over these. A new
//! recorded fact travels: `recorder-common` (wire type) → `record::decode` →
//! `record::observation` → `record::accumulator` → `recording` (the file) → `policy` →
//! `profile`, and `review::permission` names it for `diff` and `check`.

pub mod enforce;
pub mod policy;
pub mod profile;
pub mod record;
pub mod recording;
pub mod review;
