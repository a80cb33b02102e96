//! leastpriv kernel programs: one file per hook family, gathered here.
//!
//! Every program starts with the same cheap question, "is the current task in the target
//! cgroup (or below it)?", and returns at once when it is not, so that tasks outside the
//! recording pay for nothing more than that test.
#![no_std]
#![no_main]

mod arguments;
mod capabilities;
mod exec;
mod files;
mod floor;
mod syscalls;
mod target;
mod task;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // The verifier rejects any program that could reach this; it exists to satisfy no_std.
    loop {}
}
