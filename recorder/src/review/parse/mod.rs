//! Profile text read back for review: each parser turns a committed file into what it
//! allows, and says exactly where the text is malformed.

pub mod apparmor;
pub mod landlock;
pub mod seccomp;
