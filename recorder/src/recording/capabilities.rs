//! The Recording's words for capability checks: the capability's name and whether a check
//! was a need or a probe. How a check is classified from its kernel stack is recording-time
//! work and lives in `record::kernel_symbols`.

use serde::{Deserialize, Serialize};

/// Whether a check was audited (a need) or not (a probe), as far as its stack tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audit {
    /// An audited check: the operation depends on the capability.
    Audited,
    /// A CAP_OPT_NOAUDIT probe: the caller copes with either answer.
    Probe,
    /// The stack was not kept; counted as audited when deciding, to stay on the safe side.
    Unknown,
}

/// The capability's name, `CAP_CHOWN` for 0; unknown numbers as `CAP_<n>`.
pub fn capability_name(number: u32) -> String {
    caps::all()
        .into_iter()
        .find(|c| u32::from(c.index()) == number)
        .map_or_else(|| format!("CAP_{number}"), |c| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names() {
        assert_eq!(capability_name(0), "CAP_CHOWN");
        assert_eq!(capability_name(10), "CAP_NET_BIND_SERVICE");
        assert_eq!(capability_name(99), "CAP_99");
    }
}
