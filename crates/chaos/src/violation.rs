//! What a broken invariant is: which one, and what was seen.

/// Which invariant a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    /// No duplicate application, service principal, grant or assignment.
    NoDuplicates,
    /// No change to an object the plan did not name.
    OnlyPlannedChanges,
    /// Conditional access policies differ only in `excludeApplications`.
    PolicyOnlyExclusions,
    /// Every PATCH/DELETE has a journal entry with the prior state, written before it.
    JournalBeforeWrite,
    /// The rerun without faults converges: `plan --detailed-exitcode` exits 0.
    Converges,
    /// Every entractl process ends on its own (no hang).
    Terminates,
    /// The tenant equals the one a fault-free apply of the same spec makes on a fresh emulator
    /// with the same seed (ids and timestamps aside): an oracle independent of entractl's plan.
    MatchesReference,
    /// What the spec says holds in the emulator's state, read directly (the app, its service
    /// principal, the consented scopes, the assignments).
    SpecFacts,
}

impl Invariant {
    /// Every invariant, in report order.
    pub const ALL: [Invariant; 8] = [
        Invariant::NoDuplicates,
        Invariant::OnlyPlannedChanges,
        Invariant::PolicyOnlyExclusions,
        Invariant::JournalBeforeWrite,
        Invariant::Converges,
        Invariant::Terminates,
        Invariant::MatchesReference,
        Invariant::SpecFacts,
    ];

    /// How the report names it.
    pub fn describe(self) -> &'static str {
        match self {
            Invariant::NoDuplicates => {
                "no duplicate application, service principal, grant or assignment"
            }
            Invariant::OnlyPlannedChanges => "no change outside the plan",
            Invariant::PolicyOnlyExclusions => {
                "conditional access policies differ only in excludeApplications"
            }
            Invariant::JournalBeforeWrite => {
                "every PATCH/DELETE has a journal entry with the prior state, written before it"
            }
            Invariant::Converges => "the rerun converges to an empty plan",
            Invariant::Terminates => "entractl ends on its own (no hang)",
            Invariant::MatchesReference => {
                "the tenant equals a fault-free apply's on a fresh emulator (ids and times aside)"
            }
            Invariant::SpecFacts => {
                "the spec's app, service principal, consent and assignments are in the tenant"
            }
        }
    }
}

/// One broken invariant, with what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which invariant.
    pub invariant: Invariant,
    /// What was seen.
    pub detail: String,
}

pub(crate) fn v(invariant: Invariant, detail: impl Into<String>) -> Violation {
    Violation {
        invariant,
        detail: detail.into(),
    }
}
