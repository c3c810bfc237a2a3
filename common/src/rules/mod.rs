//! Sync rules: a named image list with its target, replacement level, namespace and platform,
//! run on demand or on a schedule. This module holds what a rule is and how it is checked; the
//! api stores rules made in the UI and reads `rules.yaml` for those declared in a file.

pub mod schedule;

pub use schedule::{Missed, Schedule, ScheduleSpec};
pub mod spec;

pub use spec::{check_name, parse_rules, RuleProblem, RuleSpec};
pub mod store;

pub use store::StoredRule;
