//! Staff roles and what each may do: the one role → permission mapping every route checks.

use std::fmt;
use std::str::FromStr;

/// A staff member's role (one per account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the service: every permission, including user management.
    Administrator,
    /// Approves and revokes devices.
    Approver,
    /// Field supervisor: sees the dashboard (overrides are approved on their own tool).
    Supervisor,
    /// Reads and decides reallocations of freed funds.
    Finance,
    /// Reads receipts, evidence, reallocations, the face sweep and the audit log; exports.
    Auditor,
    /// Sees the dashboard and metrics only.
    Viewer,
}

/// One thing a route needs its caller to be allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// The dashboard page, `/v1/dashboard`, `/metrics`.
    ViewDashboard,
    /// List, approve and revoke devices.
    ManageDevices,
    /// Read a device's receipt chain as the server holds it.
    ReadChains,
    /// Read (and export) the reallocation queue.
    ReadReallocations,
    /// Decide reallocations (approve, reject, reallocate).
    DecideReallocations,
    /// Run the 1:N face sweep of a roster's evidence.
    FaceSweep,
    /// View payment evidence (face crops).
    ViewEvidence,
    /// Read and export the audit log.
    ReadAudit,
    /// Add, disable and change staff accounts and their tokens.
    ManageUsers,
    /// Read the complaints recipients filed against their receipts (with worker and device).
    ReadComplaints,
    /// Count or refuse a receipt a revoked device handed in.
    DecideHeldReceipts,
}

impl Role {
    /// Every role, in the order they are listed to people.
    pub const ALL: [Role; 6] =
        [Role::Administrator, Role::Approver, Role::Supervisor, Role::Finance, Role::Auditor, Role::Viewer];

    /// Whether this role may do `p`. Every role sees the dashboard; the rest is split by duty.
    /// The administrator holds everything so that the bootstrap credential can run a fresh
    /// server (and every use of it is audited).
    pub fn allows(self, p: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Administrator => true,
            Role::Approver => matches!(p, P::ViewDashboard | P::ManageDevices | P::ReadChains),
            Role::Supervisor | Role::Viewer => p == P::ViewDashboard,
            Role::Finance => matches!(p, P::ViewDashboard | P::ReadReallocations | P::DecideReallocations),
            Role::Auditor => matches!(
                p,
                P::ViewDashboard
                    | P::ReadChains
                    | P::ReadReallocations
                    | P::FaceSweep
                    | P::ViewEvidence
                    | P::ReadAudit
                    | P::ReadComplaints
                    | P::DecideHeldReceipts
            ),
        }
    }

    /// The name stored and shown (`administrator`, `viewer`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Approver => "approver",
            Role::Supervisor => "supervisor",
            Role::Finance => "finance",
            Role::Auditor => "auditor",
            Role::Viewer => "viewer",
        }
    }

    /// Refuses `p`, naming the role and the permission, unless this role allows it.
    pub fn require(self, p: Permission) -> Result<(), RoleError> {
        if self.allows(p) {
            Ok(())
        } else {
            Err(RoleError::NotAllowed { role: self, permission: p })
        }
    }
}

/// Why a role refuses, or a role name is not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleError {
    /// The role does not hold the permission.
    #[error("the {role} role may not {}", permission.describe())]
    NotAllowed {
        /// The caller's role.
        role: Role,
        /// What the caller needed.
        permission: Permission,
    },
    /// A name that is none of [`Role::ALL`].
    #[error("no role {0}: use one of {names}", names = role_names())]
    UnknownRole(String),
}

/// Every role's name, comma-separated, for a refusal message.
fn role_names() -> String {
    Role::ALL.map(Role::as_str).join(", ")
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 11] = [
        Permission::ViewDashboard,
        Permission::ManageDevices,
        Permission::ReadChains,
        Permission::ReadReallocations,
        Permission::DecideReallocations,
        Permission::FaceSweep,
        Permission::ViewEvidence,
        Permission::ReadAudit,
        Permission::ManageUsers,
        Permission::ReadComplaints,
        Permission::DecideHeldReceipts,
    ];

    /// Its name in the API description (`x-salur-permission`).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ViewDashboard => "view_dashboard",
            Permission::ManageDevices => "manage_devices",
            Permission::ReadChains => "read_chains",
            Permission::ReadReallocations => "read_reallocations",
            Permission::DecideReallocations => "decide_reallocations",
            Permission::FaceSweep => "face_sweep",
            Permission::ViewEvidence => "view_evidence",
            Permission::ReadAudit => "read_audit",
            Permission::ManageUsers => "manage_users",
            Permission::ReadComplaints => "read_complaints",
            Permission::DecideHeldReceipts => "decide_held_receipts",
        }
    }

    /// The permission of that name.
    pub fn named(name: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The roles that hold it, in [`Role::ALL`] order.
    pub fn holders(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| r.allows(self)).collect()
    }

    /// What the permission lets one do, for a refusal message.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ViewDashboard => "view the dashboard",
            Permission::ManageDevices => "manage devices",
            Permission::ReadChains => "read device chains",
            Permission::ReadReallocations => "read reallocations",
            Permission::DecideReallocations => "decide reallocations",
            Permission::FaceSweep => "run the face sweep",
            Permission::ViewEvidence => "view evidence",
            Permission::ReadAudit => "read the audit log",
            Permission::ManageUsers => "manage users",
            Permission::ReadComplaints => "read complaints",
            Permission::DecideHeldReceipts => "count or refuse receipts held from revoked devices",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, RoleError> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| RoleError::UnknownRole(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::Permission as P;
    use super::*;

    const EVERY: [P; 11] = P::ALL;

    fn allowed(r: Role) -> Vec<P> {
        EVERY.into_iter().filter(|p| r.allows(*p)).collect()
    }

    #[test]
    fn each_role_holds_exactly_its_duties() {
        assert_eq!(allowed(Role::Administrator), EVERY);
        assert_eq!(allowed(Role::Approver), [P::ViewDashboard, P::ManageDevices, P::ReadChains]);
        assert_eq!(allowed(Role::Supervisor), [P::ViewDashboard]);
        assert_eq!(allowed(Role::Viewer), [P::ViewDashboard]);
        assert_eq!(allowed(Role::Finance), [P::ViewDashboard, P::ReadReallocations, P::DecideReallocations]);
        assert_eq!(
            allowed(Role::Auditor),
            [
                P::ViewDashboard,
                P::ReadChains,
                P::ReadReallocations,
                P::FaceSweep,
                P::ViewEvidence,
                P::ReadAudit,
                P::ReadComplaints,
                P::DecideHeldReceipts
            ]
        );
    }

    #[test]
    fn only_administrators_manage_users_and_everyone_sees_the_dashboard() {
        for r in Role::ALL {
            assert_eq!(r.allows(P::ManageUsers), r == Role::Administrator, "{r}");
            assert!(r.allows(P::ViewDashboard), "{r}");
        }
        // Devices, reallocation decisions and the audit log sit with different people.
        assert!(!Role::Approver.allows(P::ReadAudit) && !Role::Finance.allows(P::ManageDevices));
        assert!(!Role::Auditor.allows(P::DecideReallocations) && !Role::Auditor.allows(P::ManageDevices));
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert_eq!("root".parse::<Role>(), Err(RoleError::UnknownRole("root".into())));
        assert_eq!(
            "root".parse::<Role>().unwrap_err().to_string(),
            "no role root: use one of administrator, approver, supervisor, finance, auditor, viewer"
        );
        let refused = Role::Viewer.require(P::ManageDevices);
        assert_eq!(refused, Err(RoleError::NotAllowed { role: Role::Viewer, permission: P::ManageDevices }));
        assert_eq!(refused.unwrap_err().to_string(), "the viewer role may not manage devices");
        assert!(Role::Approver.require(P::ManageDevices).is_ok());
        for p in P::ALL {
            assert_eq!(P::named(p.as_str()), Some(p));
        }
        assert_eq!(P::named("view dashboard"), None);
        assert_eq!(P::ManageUsers.holders(), [Role::Administrator]);
    }
}
