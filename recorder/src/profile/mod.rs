//! Policy → text, one sibling module per output format, nothing else. Renderers decide
//! nothing: every choice was made in `policy`. Reading profiles back is `review::parse`.
//!
//! May import `policy` and `recording`.

pub mod apparmor;
pub mod capabilities;
pub mod k8s;
pub mod landlock;
pub mod seccomp;
pub mod selinux;
pub mod systemd;
