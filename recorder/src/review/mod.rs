//! Reviewing profiles: what a Recording or a profile file allows, in one vocabulary
//! ([`permission`]), so that [`diff`] compares any two of a kind and [`check`] tells what a
//! run needed that a profile lacks. [`parse`] reads committed profiles back.
//!
//! May import `profile`, `policy` and `recording`; nothing here records or enforces.

pub mod check;
pub mod diff;
pub mod landlock;
pub mod parse;
pub mod permission;
