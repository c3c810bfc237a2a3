//! Roles and what a route needs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Ordered: a higher role can do everything a lower one can.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads jobs, registries and statistics.
    Viewer,
    /// Also submits, cancels and retries syncs and generates scripts.
    Operator,
    /// Also manages users and registries and reads the audit log.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a route demands of the caller. Every `/api` route declares one (see `startup::api_routes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, logged in or not (the login itself).
    Public,
    /// Any logged-in user, even one who must still replace a generated password (`me`, logout,
    /// changing one's password).
    Account,
    /// A logged-in user with at least this role and no pending password change.
    Role(Role),
}
