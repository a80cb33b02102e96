//! leastpriv kernel programs: one module per hook family, gathered here.
//!
//! The families (`syscalls`, `files`, `exec`, `capabilities`, `moves`, `floor`) hold the
//! programs and never import one another. What several of them share lives below them:
//! `maps` (the maps and globals more than one family touches, the ring buffer and the loss
//! counters), `file_events` (resolving and reporting a file access), `common` (stateless
//! helpers) and `task` (the current task's kernel structures). Each module's doc says what it may import.
//!
//! Every program starts with the same cheap question, "is the current task in the target
//! cgroup (or below it)?", and returns at once when it is not, so that tasks outside the
//! recording pay for nothing more than that test.
#![no_std]
#![no_main]
// Inline assembly for the one atomic instruction Rust's core does not offer here (the BPF
// target has no compare-and-swap, so core's atomics have no fetch_add).
#![cfg_attr(target_arch = "bpf", feature(asm_experimental_arch))]

// Hook families: one module per hook (or group of hooks), each with its programs. A family
// imports only from the shared modules below, never from another family.
mod capabilities;
mod exec;
mod files;
mod floor;
mod moves;
mod syscalls;

// Shared modules. `file_events` may import `maps` and `common`; `maps` may import `common`;
// `common` and `task` import nothing from this crate.
mod common;
mod file_events;
mod maps;
mod task;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any program that could reach this; it exists to satisfy no_std.
    loop {}
}
