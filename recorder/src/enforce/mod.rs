//! Enforcing a profile on a command: compile it the way container runtimes do (libseccomp is
//! the reference implementation behind runc and crun) and install it in the child right
//! before exec.

pub mod apparmor;
pub mod capabilities;
pub mod landlock;
pub mod seccomp;
