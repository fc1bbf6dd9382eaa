//! The record of what entractl weakened, kept in the tenant (docs/decisions.md): record groups
//! (one per purpose: per-user MFA that was `enabled`, that was `enforced`, the identities added
//! to one conditional access policy's exclusions), whose members are what entractl weakened.
//! A member is added before the downgrade it records ([`ObjectKind::rank`]) and removed after
//! the restore ([`Change::rank`]), so a crash between the two never loses a downgrade.
//! The kinds that weaken and restore plan the record's changes with [`record`] and [`release`].

use entractl_graph::resource::group;
use entractl_graph::{GraphError, GraphRequest};
use serde_json::{Value, json};

use super::context::PlanContext;
use super::kind::{Kind, PlanOut, RequiredPermissions, Sending};
use crate::core::desired::Desired;
use crate::core::error::{BadChange, PlanError};
use crate::core::observed::{Observed, Purpose, RecordGroup, RecordMember};
use crate::core::plan::{
    Action, Change, ChangeId, CreatedRef, FieldChange, ObjectKind, ObjectRef, Risk,
};

/// Creates record groups.
pub struct RecordGroupKind;

/// Adds and removes record entries (group members).
pub struct RecordKind;

/// What a record entry records, in words (`carol@contoso.com: per-user MFA was enforced`).
fn what(purpose: &Purpose, label: &str) -> String {
    match purpose {
        Purpose::PerUserMfa(state) => format!("{label}: per-user MFA was {state}"),
        Purpose::CaExclusion(policy) => {
            format!("{label}: excluded from conditional access policy {policy}")
        }
        Purpose::SecurityDefaults => format!(
            "service principal {label}: security defaults were on (entractl turned them off for this app)"
        ),
    }
}

/// The key of a record entry: one per purpose and member; the one security defaults entry of
/// the app by its purpose alone (its member, the service principal, may be created by the same
/// apply).
fn entry_key(purpose: &Purpose, member_id: &str) -> String {
    match purpose {
        Purpose::SecurityDefaults => purpose.code(),
        _ => format!("{}/{}", purpose.code(), member_id),
    }
}

/// A record group's display name (it spells the app's key out).
pub(super) fn group_display(purpose: &Purpose, app_key: &str) -> String {
    match purpose {
        Purpose::PerUserMfa(state) => {
            format!("entractl record ({app_key}): per-user MFA was {state}")
        }
        Purpose::CaExclusion(policy) => {
            format!("entractl record ({app_key}): excluded from conditional access policy {policy}")
        }
        Purpose::SecurityDefaults => {
            format!("entractl record ({app_key}): security defaults turned off")
        }
    }
}

fn group_description(purpose: &Purpose, app_key: &str) -> String {
    let members = match purpose {
        Purpose::PerUserMfa(state) => {
            format!("the users whose legacy per-user MFA entractl turned off from `{state}`")
        }
        Purpose::CaExclusion(policy) => format!(
            "the users and groups entractl added to the exclusions of conditional access policy {policy}"
        ),
        Purpose::SecurityDefaults => "the app's service principal while security defaults stay off because entractl turned them off for it".to_string(),
    };
    let text = format!(
        "Kept by entractl for the app {app_key}: its members are {members}, so that entractl can restore them when they no longer need it. It grants nothing: do not use it in policies or assignments, and do not edit it."
    );
    // Graph caps a group's description at 1,024 characters.
    text.chars().take(1024).collect()
}

/// Plans the record entry for `member` under `purpose` (and its group's creation, once per plan,
/// when the group does not exist), unless it is recorded already.
pub fn record(cx: &PlanContext<'_>, out: &mut PlanOut, purpose: &Purpose, member: &RecordMember) {
    if cx.observed.records.has(purpose, &member.id) {
        return;
    }
    let (group_id, refs) = group_of(cx, out, purpose);
    let object = ObjectRef {
        kind: ObjectKind::Record,
        key: entry_key(purpose, &member.id),
        display: what(purpose, &member.label),
        id: Some(member.id.clone()),
    };
    out.changes.push(entry(
        object,
        json!({"groupId": group_id, "memberId": member.id}),
        refs,
    ));
}

/// Plans the record entry of the app's service principal under `purpose` when the same apply
/// creates it (the entry takes its id from that create), with its group's creation as
/// [`record`] does.
pub fn record_created_sp(cx: &PlanContext<'_>, out: &mut PlanOut, purpose: &Purpose, label: &str) {
    let (group_id, mut refs) = group_of(cx, out, purpose);
    refs.push(CreatedRef {
        at: "/memberId".into(),
        created_by: ChangeId {
            kind: ObjectKind::ServicePrincipal,
            key: cx.key(),
        },
        property: "id".into(),
    });
    let object = ObjectRef {
        kind: ObjectKind::Record,
        key: entry_key(purpose, ""),
        display: what(purpose, label),
        id: None,
    };
    out.changes.push(entry(
        object,
        json!({"groupId": group_id, "memberId": Value::Null}),
        refs,
    ));
}

/// The record group's id (`None`: created by this plan, planned here once) and the reference
/// to its creation.
fn group_of(
    cx: &PlanContext<'_>,
    out: &mut PlanOut,
    purpose: &Purpose,
) -> (Option<String>, Vec<CreatedRef>) {
    let app_key = cx.key();
    let group_key = purpose.mail_nickname(&app_key);
    let group_id = cx.observed.records.group(purpose).map(|g| g.id.clone());
    let mut refs = Vec::new();
    if group_id.is_none() {
        let planned = out
            .changes
            .iter()
            .any(|c| c.object.kind == ObjectKind::RecordGroup && c.object.key == group_key);
        if !planned {
            out.changes
                .push(create_group(purpose, &app_key, &group_key));
        }
        refs.push(CreatedRef {
            at: "/groupId".into(),
            created_by: ChangeId {
                kind: ObjectKind::RecordGroup,
                key: group_key.clone(),
            },
            property: "id".into(),
        });
    }
    (group_id, refs)
}

fn entry(object: ObjectRef, payload: Value, refs: Vec<CreatedRef>) -> Change {
    let mut c = Change::new(
        object,
        Action::Create,
        "recorded in the tenant (in a record group) before the downgrade, so that any later plan, on any machine, knows what to restore".to_string(),
    );
    c.payload = payload;
    c.refs = refs;
    c
}

/// Plans the removal of a record entry, after the restore it records.
pub fn release(out: &mut PlanOut, g: &RecordGroup, m: &RecordMember, why: &str) {
    let object = ObjectRef {
        kind: ObjectKind::Record,
        key: entry_key(&g.purpose, &m.id),
        display: what(&g.purpose, &m.label),
        id: Some(m.id.clone()),
    };
    let mut c = Change::new(object, Action::Delete, why.to_string());
    c.payload = json!({"groupId": g.id, "memberId": m.id});
    out.changes.push(c);
}

fn create_group(purpose: &Purpose, app_key: &str, group_key: &str) -> Change {
    let display = group_display(purpose, app_key);
    let object = ObjectRef {
        kind: ObjectKind::RecordGroup,
        key: group_key.to_string(),
        display: display.clone(),
        id: None,
    };
    let mut c = Change::new(
        object,
        Action::Create,
        "a security group that records what entractl weakens, in the tenant (it grants nothing; docs/decisions.md)".to_string(),
    );
    c.payload =
        group::security_group_body(&display, group_key, &group_description(purpose, app_key));
    c
}

/// `destroy`'s deletion of a record group, after the restores of what it records.
fn delete_group(g: &RecordGroup, app_key: &str) -> Change {
    let object = ObjectRef {
        kind: ObjectKind::RecordGroup,
        key: g.purpose.mail_nickname(app_key),
        display: group_display(&g.purpose, app_key),
        id: Some(g.id.clone()),
    };
    let mut c = Change::new(
        object,
        Action::Delete,
        "destroy: entractl's record of what it weakened is deleted last, after every restore it records (a security group is deleted at once, not kept in deleted items)",
    );
    c.fields = vec![FieldChange {
        path: "members".into(),
        before: json!(g.members.len()),
        after: Value::Null,
    }];
    c.payload = json!({"groupId": g.id});
    c.risks = vec![Risk::Removal];
    c
}

fn str_of<'a>(c: &'a Change, key: &str) -> Result<&'a str, BadChange> {
    c.payload
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| BadChange::new(c.object.kind, format!("no {key}")))
}

impl Kind for RecordGroupKind {
    fn kind(&self) -> ObjectKind {
        ObjectKind::RecordGroup
    }

    /// Nothing: a record group depends on no object of the app.
    fn after(&self) -> &'static [ObjectKind] {
        &[]
    }

    /// Created by the kinds that weaken ([`record`]); deleted by `destroy`, after every restore
    /// (the group goes with its entries: they are not released one by one).
    fn plan(&self, cx: &PlanContext<'_>, out: &mut PlanOut) -> Result<(), PlanError> {
        if !cx.desired.destroying() {
            return Ok(());
        }
        out.changes
            .retain(|c| !(c.object.kind == ObjectKind::Record && c.action == Action::Delete));
        let app_key = cx.key();
        for g in &cx.observed.records.groups {
            out.changes.push(delete_group(g, &app_key));
        }
        Ok(())
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        match c.action {
            Action::Create => Ok(vec![group::create(c.payload.clone())]),
            Action::Delete => Ok(vec![group::delete(str_of(c, "groupId")?)]),
            other => Err(BadChange::new(
                ObjectKind::RecordGroup,
                format!("{} of a record group", other.as_str()),
            )),
        }
    }

    fn prior_state(&self, o: &Observed, c: &Change) -> Value {
        let id = c.payload.get("groupId").and_then(Value::as_str);
        match o.records.groups.iter().find(|g| Some(g.id.as_str()) == id) {
            Some(g) if c.action == Action::Delete => json!({
                "id": g.id,
                "mailNickname": c.object.key,
                "displayName": c.object.display,
                "members": g.members.iter().map(|m| &m.id).collect::<Vec<_>>(),
            }),
            _ => Value::Null,
        }
    }

    fn already_done(&self, c: &Change, e: &GraphError) -> bool {
        c.action == Action::Delete && e.is_not_found()
    }

    fn undo_hint(&self, c: &Change) -> String {
        match c.action {
            Action::Delete => "a security group is not kept in deleted items: create it again (POST /groups with the mailNickname and displayName under `before`) and add the members under `before.members`, if what they record is still weakened".into(),
            _ => "delete the created record group (its id is under `created.id` once the create succeeded)".into(),
        }
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        if c.action == Action::Delete {
            let id = str_of(c, "groupId")?;
            o.records.groups.retain(|g| g.id != id);
            return Ok(Value::Null);
        }
        let nickname = str_of(c, "mailNickname")?;
        let purpose = purpose_of_key(nickname)
            .ok_or_else(|| BadChange::new(ObjectKind::RecordGroup, "not a record group"))?;
        let id = new_id("group");
        o.records.groups.push(RecordGroup {
            id: id.clone(),
            purpose,
            members: Vec::new(),
        });
        Ok(json!({"id": id, "mailNickname": nickname}))
    }

    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        needed.to_plan(
            group::READ,
            "read entractl's record of what it weakened: its record groups and their members (GET /groups?$filter=startswith(mailNickname,'entractl-record-'), GET /groups/{id}/members)",
        );
        // Reading what the record names, to restore it, is each kind's own need (Policy.Read.All:
        // PerUserMfaKind, CaExclusionKind, SecurityDefaultsKind).
        if desired.destroying() {
            needed.to_apply(
                group::DELETE,
                "delete entractl's record groups once everything they record is restored (DELETE /groups/{id}; no narrower application permission exists)",
            );
        } else if records(desired) {
            needed.to_apply(
                group::CREATE,
                "create the record groups that keep what entractl weakens (POST /groups)",
            );
        }
    }
}

/// Whether the spec may weaken something entractl must record: per-user MFA turned off, users
/// and groups excluded from conditional access, or security defaults turned off. (Restores a
/// plan needs whatever the spec says: [`crate::permissions::for_plan`].)
fn records(d: &Desired) -> bool {
    d.mfa.as_ref().is_some_and(|m| {
        m.per_user_mfa_disabled
            || m.exclude_identities.is_some()
            || m.security_defaults == Some(false)
    })
}

/// Whether the spec records the app's service principal (it turns security defaults off).
fn records_service_principal(d: &Desired) -> bool {
    d.mfa
        .as_ref()
        .is_some_and(|m| m.security_defaults == Some(false))
}

/// The purpose a record group's key (its mailNickname) names, whatever the app.
fn purpose_of_key(nickname: &str) -> Option<Purpose> {
    let rest = nickname.strip_prefix(group::RECORD_PREFIX)?;
    let (code, _hash) = rest.rsplit_once('-')?;
    if let Some(state) = code.strip_prefix("mfa-") {
        return Some(Purpose::PerUserMfa(state.to_string()));
    }
    Purpose::parse(code)
}

impl Kind for RecordKind {
    fn kind(&self) -> ObjectKind {
        ObjectKind::Record
    }

    /// Its record group (created by the same apply, or found by the plan).
    fn after(&self) -> &'static [ObjectKind] {
        &[ObjectKind::RecordGroup]
    }

    /// Planned by the kinds that weaken and restore ([`record`], [`release`]).
    fn plan(&self, _cx: &PlanContext<'_>, _out: &mut PlanOut) -> Result<(), PlanError> {
        Ok(())
    }

    fn requests(&self, c: &Change, _o: &Observed) -> Result<Vec<GraphRequest>, BadChange> {
        let (gid, mid) = (str_of(c, "groupId")?, str_of(c, "memberId")?);
        let req = match c.action {
            Action::Create => group::add_member(gid, mid),
            Action::Delete => group::remove_member(gid, mid),
            other => {
                return Err(BadChange::new(
                    ObjectKind::Record,
                    format!("{} of a record entry", other.as_str()),
                ));
            }
        };
        Ok(vec![req.label(format!(
            "{} record: {}",
            c.action.as_str(),
            c.object.display
        ))])
    }

    fn prior_state(&self, _o: &Observed, c: &Change) -> Value {
        match c.action {
            Action::Delete => c.payload.clone(),
            _ => Value::Null,
        }
    }

    fn simulate(
        &self,
        o: &mut Observed,
        c: &Change,
        _new_id: &mut dyn FnMut(&str) -> String,
    ) -> Result<Value, BadChange> {
        let (gid, mid) = (str_of(c, "groupId")?, str_of(c, "memberId")?);
        let g = o
            .records
            .groups
            .iter_mut()
            .find(|g| g.id == gid)
            .ok_or_else(|| BadChange::new(ObjectKind::Record, "record group not found"))?;
        match c.action {
            Action::Create => g.members.push(RecordMember {
                id: mid.to_string(),
                label: mid.to_string(),
                is_group: false,
            }),
            _ => g.members.retain(|m| m.id != mid),
        }
        Ok(Value::Null)
    }

    fn permissions(&self, desired: &Desired, needed: &mut RequiredPermissions) {
        if records(desired) {
            needed.to_apply(
                group::MEMBER_WRITE,
                "record what entractl weakens (the users whose per-user MFA it turns off, the users and groups it excludes, the app's service principal when it turns security defaults off), and release the record once restored (POST and DELETE /groups/{id}/members/$ref)",
            );
        }
        if records_service_principal(desired) {
            needed.to_apply(
                group::SERVICE_PRINCIPAL_MEMBER_WRITE,
                "record the app's service principal when entractl turns security defaults off (POST /groups/{id}/members/$ref: adding a service principal to a group takes it as well as GroupMember.ReadWrite.All); it can change any application: keep the identity's credential tight",
            );
        }
    }

    /// In `$batch`es; the first alone, with the retries a just-created record group needs.
    fn sending(&self) -> Sending {
        Sending::Together { first_alone: true }
    }

    fn already_done(&self, c: &Change, e: &GraphError) -> bool {
        match c.action {
            Action::Create => group::is_already_member(&e.to_string()),
            Action::Delete => e.is_not_found(),
            _ => false,
        }
    }
}
