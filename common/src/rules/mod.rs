//! Sync rules: a named image list with its target, replacement level, namespace and platform,
//! run on demand or on a schedule. This module holds what a rule is and how it is checked, the
//! stored rules, their runs and the schedule's claims; the api serves them and runs the
//! scheduler.

pub mod fires;
pub mod runs;
pub mod schedule;
pub mod spec;
pub mod store;

pub use schedule::{Missed, Schedule, ScheduleSpec};
pub use spec::{check_name, load_rules, parse_rules, RuleProblem, RuleSpec, RULES_FILE};
pub use store::StoredRule;
