//! Recording a workload: everything that needs root and the kernel.
//!
//! In data-flow order: [`cgroup`] makes the cgroup the command runs in and [`launch`] starts
//! it there; [`kernel`] loads, targets and attaches the eBPF programs and reads their maps
//! and ring buffer (the only module of the crate that imports aya); [`decode`] turns the
//! ring buffer's bytes into [`observation`]s; the [`accumulator`] folds them, with
//! [`kernel_symbols`] naming capability-check stacks; [`session`] runs it all until the
//! workload is done, with [`containers`] following the containers it starts into cgroups of
//! their own; [`assemble`] builds the Recording.
//!
//! May import [`crate::recording`] (the contract it produces) and nothing later.

pub mod accumulator;
pub mod assemble;
pub mod cgroup;
pub mod containers;
pub mod decode;
pub mod docker;
pub mod kernel;
pub mod kernel_symbols;
pub mod launch;
pub mod observation;
pub mod session;
