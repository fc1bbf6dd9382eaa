//! The order of an apply's writes: a dependency graph of the plan's changes, by kind. The
//! changes of one kind are sent together, that kind's way; a kind starts once the kinds it
//! waits for are done — those its [`Kind::after`] names and those of the objects its changes
//! reference (`refs`: a conditional access exclusion waits for the created application's appId,
//! a grant for the created service principal's id) — and every kind that waits for nothing
//! starts at once. So the critical path is only what Graph needs: application → service
//! principal → grants and assignments, with per-user MFA, security defaults and the exclusions
//! (paced at one request per second) running beside it.
//!
//! A step is the changes of one apply rank ([`Change::rank`]), which is the kind's rank except
//! for the removal of records: record writes (their own step) come before the per-user MFA,
//! security defaults and conditional access downgrades they record (those kinds name
//! [`ObjectKind::Record`] in `after`; a conditional access step that adds no user or group —
//! Passport's app exclusion — does not wait for it, [`Kind::waits_for`]; the security defaults
//! record names the app's service principal, so on a first apply it waits for its creation),
//! and record removals are a late step that waits for every step before it, so a record always
//! outlives the downgrade it records. `destroy`'s deletions of service principals and
//! applications, and of record groups, are such steps too ([`Change::rank`]).
//!
//! A stop — a kind whose writes failed, or the caller's cancel ([`ApplyOptions::cancel`]) —
//! lets the kinds in flight finish and starts no other; the failure of the lowest rank is
//! returned.

use std::collections::BTreeSet;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::options::ApplyOptions;
use super::send::Writer;
use crate::core::kinds::{self, Kind};
use crate::core::plan::{Change, ObjectKind, Plan, TEARDOWN};
use crate::error::StopCause;

/// The changes of one kind (of one apply rank) and the steps they wait for, by rank.
pub(super) struct Step<'p> {
    pub kind: &'static dyn Kind,
    /// The changes' [`Change::rank`]: the step's name in `after`.
    pub rank: u8,
    pub changes: Vec<&'p Change>,
    pub after: BTreeSet<u8>,
}

/// The plan's actionable changes as steps, in rank order.
pub(super) fn steps(plan: &Plan) -> Vec<Step<'_>> {
    let mut changes: Vec<&Change> = plan.actionable().collect();
    changes.sort_by_key(|c| c.rank());
    let mut out: Vec<Step<'_>> = Vec::new();
    for c in changes {
        match out.last_mut() {
            Some(s) if s.rank == c.rank() => s.changes.push(c),
            _ => out.push(Step {
                kind: kinds::of(c.object.kind),
                rank: c.rank(),
                changes: vec![c],
                after: BTreeSet::new(),
            }),
        }
    }
    let present: BTreeSet<u8> = out.iter().map(|s| s.rank).collect();
    for s in &mut out {
        s.after = waits_for(s, &present);
    }
    out
}

/// The ranks of the present steps that `s` waits for: every lower one for the removals that
/// come last ([`TEARDOWN`] and above: what `destroy` deletes, record entries, record groups);
/// otherwise those of the kinds its kind names and its changes reference.
fn waits_for(s: &Step<'_>, present: &BTreeSet<u8>) -> BTreeSet<u8> {
    if s.rank >= TEARDOWN {
        return present.iter().copied().filter(|r| *r < s.rank).collect();
    }
    let referenced = s
        .changes
        .iter()
        .flat_map(|c| c.refs.iter().map(|r| r.created_by.kind));
    s.kind
        .after()
        .iter()
        .copied()
        .filter(|k| s.kind.waits_for(&s.changes, *k))
        .chain(referenced)
        .map(ObjectKind::rank)
        .filter(|r| *r != s.rank && present.contains(r))
        .collect()
}

/// Makes every step wait for all the steps before it (rank order): one kind at a time.
pub(super) fn one_after_another(steps: &mut [Step<'_>]) {
    let mut before = BTreeSet::new();
    for s in steps.iter_mut() {
        s.after.extend(before.iter().copied());
        before.insert(s.rank);
    }
}

/// Why the writes stopped, and the kind that failed (none when interrupted).
pub(super) struct Halt {
    pub cause: StopCause,
    pub kind: Option<ObjectKind>,
}

/// Sends every step once the steps it waits for are done, until a stop.
pub(super) async fn run(
    writer: &Writer<'_>,
    steps: Vec<Step<'_>>,
    opts: &ApplyOptions,
) -> Result<(), Halt> {
    let mut waiting = steps;
    let mut done: BTreeSet<u8> = BTreeSet::new();
    let mut halts: Vec<Halt> = Vec::new();
    let mut running = FuturesUnordered::new();
    loop {
        let stop = !halts.is_empty() || opts.cancelled();
        let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut waiting)
            .into_iter()
            .partition(|s| !stop && s.after.is_subset(&done));
        waiting = rest;
        for s in ready {
            running.push(async move { (s.rank, s.kind, writer.send(s.kind, &s.changes).await) });
        }
        match running.next().await {
            None => break,
            Some((rank, _, Ok(()))) => {
                done.insert(rank);
            }
            Some((_, kind, Err(cause))) => halts.push(Halt {
                kind: matches!(cause, StopCause::Failed(_)).then_some(kind.kind()),
                cause,
            }),
        }
    }
    if halts.is_empty() && !waiting.is_empty() {
        halts.push(Halt {
            cause: StopCause::Interrupted,
            kind: None,
        });
    }
    halts.sort_by_key(|h| h.kind.map_or(u8::MAX, |k| k.rank()));
    halts.into_iter().next().map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests;
