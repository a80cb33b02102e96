//! leastpriv: record what a program does in the kernel and turn it into least-privilege
//! profiles.
//!
//! Data flows one way: [`kernel`] (the only module that touches BPF) → [`decode`] →
//! [`observation`] → [`recording`] (the versioned file every later step reads). Starting the
//! command is [`launch`]; the cgroup it runs in is [`cgroup`].

pub mod arg_names;
pub mod arguments;
pub mod capability_checks;
pub mod cgroup;
pub mod decode;
pub mod diff;
pub mod enforce;
pub mod kernel;
pub mod launch;
pub mod merge;
pub mod observation;
pub mod observed;
pub mod policy;
pub mod profile;
pub mod recording;
pub mod syscalls;
