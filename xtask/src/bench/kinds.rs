//! One summary table per kind of CPU. The VMs these benchmarks run on are not all alike: an
//! Intel Xeon whose syscall path has no return-stack mitigation, and an AMD EPYC with SRSO's
//! "Safe RET", where every call and return inside the kernel costs more and the empty floor
//! programs alone slow a syscall by 1.7 times. A target must hold on each, so BENCHMARKS.md
//! keeps, beside this run's full report, the summary of the latest run on every other kind
//! (carried over from the file it replaces), each with its CPU, mitigations and date.
//!
//! The kind is the CPU's vendor (`vendor_id` in /proc/cpuinfo), which decides the mitigations
//! the kernel applies on these machines; the model and mitigations are shown with each table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The heading of the section that holds the other kinds' summaries.
pub const SECTION: &str = "## Summaries on other kinds of CPU";

/// The kind of CPU named by /proc/cpuinfo's `vendor_id` (or, for a report written before
/// kinds were recorded, by its CPU model).
pub fn kind_of(vendor_or_model: &str) -> &'static str {
    let text = vendor_or_model.to_ascii_lowercase();
    if text.contains("intel") {
        "Intel"
    } else if text.contains("amd") {
        "AMD"
    } else if text.contains("arm") || text.contains("aarch64") {
        "Arm"
    } else {
        "other"
    }
}

/// The mitigations that change a syscall's cost, from the kernel's vulnerability files:
/// `name: status` for each that is not "Not affected", joined with "; ".
pub fn mitigations(read: impl Fn(&str) -> Option<String>) -> String {
    let shown: Vec<String> = ["spec_rstack_overflow", "retbleed", "spectre_v2", "meltdown"]
        .iter()
        .filter_map(|name| {
            let status = read(&format!("/sys/devices/system/cpu/vulnerabilities/{name}"))?;
            let status = status.trim();
            (!status.is_empty() && status != "Not affected").then(|| format!("{name}: {status}"))
        })
        .collect();
    if shown.is_empty() {
        "none that change a syscall's cost".into()
    } else {
        shown.join("; ")
    }
}

/// One kind's summary: its heading line (CPU, mitigations, date) and its table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindSummary {
    pub heading: String,
    pub table: String,
}

/// The summaries by kind that a previous BENCHMARKS.md holds: its own run's (under its kind)
/// and those it carried over.
pub fn previous(text: &str) -> BTreeMap<String, KindSummary> {
    let mut found = BTreeMap::new();
    // Carried over: `### KIND: heading` then the table, up to the next `###` or `##`.
    if let Some(start) = text.find(&format!("\n{SECTION}\n")) {
        let body = &text[start + SECTION.len() + 2..];
        let body = body.split("\n## ").next().unwrap_or(body);
        for part in body.split("\n### ").skip(1) {
            let (title, rest) = part.split_once('\n').unwrap_or((part, ""));
            let Some((kind, heading)) = title.split_once(": ") else {
                continue;
            };
            let table = table_in(rest);
            if !table.is_empty() {
                found.insert(
                    kind.to_owned(),
                    KindSummary {
                        heading: heading.to_owned(),
                        table,
                    },
                );
            }
        }
    }
    // Its own run: the Machine table's rows and the Summary table.
    let row = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("| {key} | ")))
            .map(|v| v.trim_end_matches(" |").to_owned())
    };
    if let (Some(cpu), Some(summary)) = (row("CPU"), section(text, "## Summary")) {
        let kind = row("CPU kind").unwrap_or_else(|| kind_of(&cpu).to_owned());
        let mitigations = row("mitigations").unwrap_or_else(|| "not recorded".into());
        let date = row("date").unwrap_or_else(|| "date unknown".into());
        let table = table_in(summary);
        if !table.is_empty() {
            found.insert(
                kind,
                KindSummary {
                    heading: format!("{cpu}; mitigations: {mitigations}; {date}"),
                    table,
                },
            );
        }
    }
    found
}

/// The text of section `heading` (without it), up to the next section.
fn section<'a>(text: &'a str, heading: &str) -> Option<&'a str> {
    let start = text.find(&format!("\n{heading}\n"))? + heading.len() + 2;
    let body = &text[start..];
    Some(body.split("\n## ").next().unwrap_or(body))
}

/// The first markdown table in `text`: its consecutive lines starting with `|`.
fn table_in(text: &str) -> String {
    let mut table = String::new();
    for line in text.lines().skip_while(|l| !l.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        table.push_str(line);
        table.push('\n');
    }
    table
}

/// The section of the other kinds' summaries (none of `current`), or nothing when there are
/// none.
pub fn render(previous: &BTreeMap<String, KindSummary>, current: &str) -> String {
    let others: Vec<_> = previous.iter().filter(|(k, _)| *k != current).collect();
    if others.is_empty() {
        return String::new();
    }
    let mut s = format!(
        "{SECTION}\n\nThe latest full run on each other kind of CPU, carried over from the reports this one replaced. \
         Every target is checked on each kind; the sections below this one are this run's only.\n\n"
    );
    for (kind, summary) in others {
        let _ = writeln!(s, "### {kind}: {}\n", summary.heading);
        s.push_str(&summary.table);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTEL_REPORT: &str = "# Benchmarks\n\n## Machine\n\n|  |  |\n| --- | --- |\n| date | 2026-12-06 19:51 UTC |\n\
        | CPU | Intel(R) Xeon(R) Processor × 2, virtual machine |\n\n## How it measures\n\n- x\n\n## Summary\n\n\
        | # | benchmark | result | target | verdict |\n| --- | --- | --- | --- | --- |\n| 1 | loop | 1.00 | ≤ 1.05 | met |\n\n\
        Ratios are medians.\n\n## 1. Loop\n\ntext\n";

    #[test]
    fn a_report_without_kinds_gives_its_own_summary_under_its_cpu_kind() {
        let found = previous(INTEL_REPORT);
        assert_eq!(found.len(), 1);
        let intel = &found["Intel"];
        assert!(intel.heading.starts_with("Intel(R) Xeon(R) Processor × 2"));
        assert!(intel.heading.contains("mitigations: not recorded"));
        assert!(intel.heading.ends_with("2026-12-06 19:51 UTC"));
        assert_eq!(intel.table.lines().count(), 3);
        assert!(intel.table.contains("| 1 | loop | 1.00 |"));
    }

    #[test]
    fn summaries_are_carried_from_run_to_run_and_the_current_kind_is_replaced() {
        // An AMD run replaces the Intel report: Intel's summary is carried.
        let carried = render(&previous(INTEL_REPORT), "AMD");
        assert!(carried.starts_with(SECTION));
        assert!(carried.contains("### Intel: Intel(R) Xeon(R)"));
        // The AMD report (with Intel carried) is replaced by another AMD run: Intel stays,
        // the AMD run's own summary is not carried (the new run has its own).
        let amd_report = format!(
            "# Benchmarks\n\n## Machine\n\n|  |  |\n| --- | --- |\n| date | 2026-12-07 |\n\
             | CPU | AMD EPYC × 2 |\n| CPU kind | AMD |\n| mitigations | spec_rstack_overflow: Safe RET |\n\n\
             ## Summary\n\n| # | x |\n| --- | --- |\n| 1 | 1.01 |\n\nRatios.\n\n{carried}## 1. Loop\n\ntext\n"
        );
        let found = previous(&amd_report);
        assert_eq!(found.keys().collect::<Vec<_>>(), ["AMD", "Intel"]);
        assert!(found["AMD"].heading.contains("Safe RET"));
        let again = render(&found, "AMD");
        assert!(again.contains("### Intel:") && !again.contains("### AMD:"));
        assert_eq!(found["Intel"], previous(INTEL_REPORT)["Intel"]);
        // Back on Intel: AMD is carried, Intel is this run's.
        let back = render(&found, "Intel");
        assert!(back.contains(
            "### AMD: AMD EPYC × 2; mitigations: spec_rstack_overflow: Safe RET; 2026-12-07"
        ));
        assert!(!back.contains("### Intel:"));
    }

    #[test]
    fn kinds_come_from_the_vendor_or_the_model() {
        assert_eq!(kind_of("GenuineIntel"), "Intel");
        assert_eq!(kind_of("AuthenticAMD"), "AMD");
        assert_eq!(kind_of("AMD EPYC 7B13"), "AMD");
        assert_eq!(kind_of("Intel(R) Xeon(R) Processor"), "Intel");
        assert_eq!(kind_of("Some CPU"), "other");
    }

    #[test]
    fn mitigations_name_what_is_not_unaffected() {
        let read = |path: &str| {
            Some(
                match path.rsplit('/').next().unwrap() {
                    "spec_rstack_overflow" => "Vulnerable: Safe RET, no microcode\n",
                    "spectre_v2" => "Mitigation: Retpolines\n",
                    _ => "Not affected\n",
                }
                .to_owned(),
            )
        };
        assert_eq!(
            mitigations(read),
            "spec_rstack_overflow: Vulnerable: Safe RET, no microcode; spectre_v2: Mitigation: Retpolines"
        );
        assert_eq!(
            mitigations(|_| Some("Not affected".into())),
            "none that change a syscall's cost"
        );
    }
}
