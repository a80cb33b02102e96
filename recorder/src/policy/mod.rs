//! Recording → Policy: the one place that decides what to allow. Renderers in `profile/`
//! only spell a Policy; each decision keeps its reason so a reviewer can ask "why is this here?".

pub mod apparmor;
pub mod capabilities;
pub mod k8s;
pub mod landlock;
pub mod seccomp;
pub mod selinux;
