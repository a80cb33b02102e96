//! Policy → text, one sibling module per output format, and text → profile for the review
//! commands. Renderers decide nothing: every choice was made in `policy`.

pub mod apparmor;
pub mod apparmor_parse;
pub mod capabilities;
pub mod k8s;
pub mod seccomp;
pub mod systemd;
