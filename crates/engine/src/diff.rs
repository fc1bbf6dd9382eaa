//! `diff(desired, observed) -> Plan`: the pure heart of entractl.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::desired::{
    ApiPermission, Desired, DesiredApp, OptionalClaim, ResourceRef, default_authority_url,
};
use crate::error::{PlanError, UnknownPermission};
use crate::normalize::{self, DEFAULT_SIGN_IN_AUDIENCE};
use crate::observed::{
    Application, Candidate, MatchedBy, Observed, ObservedClaim, ServicePrincipal,
};
use crate::plan::{
    Action, Change, FieldChange, Note, NoteKind, ObjectKind, ObjectRef, Outputs, Plan, Risk,
    Unmanaged,
};

/// Tag Entra puts on service principals made in the portal, which lists them under Enterprise
/// applications.
pub const INTEGRATED_APP_TAG: &str = "WindowsAzureActiveDirectoryIntegratedApp";

/// A resource API with the permissions the spec asks of it, resolved to ids.
#[derive(Debug, Clone)]
pub struct ResolvedResource<'a> {
    pub label: String,
    pub sp: &'a ServicePrincipal,
    /// `(id, canonical value)`.
    pub delegated: Vec<(String, String)>,
    pub application: Vec<(String, String)>,
}

/// Finds the managed application among the candidates, or explains why it cannot.
/// `Ok(None)`: it does not exist yet (create it).
pub fn identify_app<'a>(
    desired: &Desired,
    observed: &'a Observed,
) -> Result<Option<(&'a Application, bool)>, PlanError> {
    let id = &desired.app.identity;
    if id.unique_name.is_none() && id.adopt_app_id.is_none() {
        return Err(PlanError::NoAppKey);
    }
    let key = id.key();
    if observed.candidates.len() > 1 {
        return Err(PlanError::AmbiguousApplication {
            key,
            candidates: observed.candidates.iter().map(describe_candidate).collect(),
        });
    }
    let tag = id.managed_tag();
    match (observed.candidates.first(), &id.adopt_app_id) {
        (None, Some(app_id)) => Err(PlanError::AdoptedAppNotFound {
            app_id: app_id.clone(),
            tenant: desired.tenant.clone(),
        }),
        (None, None) => Ok(None),
        (Some(c), Some(app_id)) => {
            if normalize::guid(&c.app.app_id) != normalize::guid(app_id) {
                return Err(PlanError::AmbiguousApplication {
                    key,
                    candidates: vec![
                        format!("the appId {app_id} pinned in the spec (not found)"),
                        describe_candidate(c),
                    ],
                });
            }
            let managed = c.app.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag));
            Ok(Some((&c.app, managed)))
        }
        (Some(c), None) => {
            let managed = c.app.tags.iter().any(|t| t.eq_ignore_ascii_case(&tag))
                || c.matched_by.contains(&MatchedBy::ManagedTag);
            if !managed {
                return Err(PlanError::UnmanagedApplication {
                    key,
                    display_name: c.app.display_name.clone(),
                    app_id: c.app.app_id.clone(),
                });
            }
            Ok(Some((&c.app, true)))
        }
    }
}

/// Resolves the resource APIs and permission values named in the spec to service principals and
/// ids. Every unknown permission is reported at once, with the closest valid names.
pub fn resolve_permissions<'a>(
    desired: &Desired,
    perms: &[ApiPermission],
    observed: &'a Observed,
) -> Result<Vec<ResolvedResource<'a>>, PlanError> {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for p in perms {
        let label = p.resource.label();
        let found: Vec<&ServicePrincipal> = observed
            .resources
            .iter()
            .filter(|r| r.query == p.resource)
            .flat_map(|r| r.found.iter())
            .collect();
        let sp = match found.as_slice() {
            [] => {
                return Err(PlanError::ResourceNotFound {
                    resource: label,
                    tenant: desired.tenant.clone(),
                });
            }
            [one] => *one,
            many => {
                return Err(PlanError::AmbiguousResource {
                    resource: label,
                    candidates: many
                        .iter()
                        .map(|s| format!("\"{}\" (appId {})", s.display_name, s.app_id))
                        .collect(),
                });
            }
        };
        let mut resolve = |names: &[String],
                           offered: &[(String, String)],
                           kind: &'static str|
         -> Vec<(String, String)> {
            let mut v = Vec::new();
            for n in names {
                let hit = offered.iter().find(|(id, value)| {
                    value.eq_ignore_ascii_case(n.trim())
                        || (normalize::is_guid(n.trim()) && id.eq_ignore_ascii_case(n.trim()))
                });
                match hit {
                    Some((id, value)) => {
                        let e = (normalize::guid(id), value.clone());
                        if !v.contains(&e) {
                            v.push(e);
                        }
                    }
                    None => unknown.push(UnknownPermission {
                        resource: label.clone(),
                        kind,
                        name: n.clone(),
                        suggestions: normalize::closest(
                            n,
                            offered.iter().map(|(_, value)| value.as_str()),
                        ),
                    }),
                }
            }
            v
        };
        let delegated = resolve(&p.delegated, &sp.scopes, "delegated");
        let application = resolve(&p.application, &sp.roles, "application");
        out.push(ResolvedResource {
            label: if sp.display_name.is_empty() {
                label
            } else {
                sp.display_name.clone()
            },
            sp,
            delegated,
            application,
        });
    }
    if unknown.is_empty() {
        Ok(out)
    } else {
        Err(PlanError::UnknownPermissions(unknown))
    }
}

/// Builds the plan. Pure: no I/O, deterministic.
pub fn diff(desired: &Desired, observed: &Observed) -> Result<Plan, PlanError> {
    // The managed app deleted less than 30 days ago: restore it (same client id), not create.
    let restore = crate::restore::restorable(desired, observed)?;
    let found = match restore {
        Some(_) => None,
        None => identify_app(desired, observed)?,
    };
    let resolved = match &desired.app.api_permissions {
        Some(p) => Some(resolve_permissions(desired, p, observed)?),
        None => None,
    };
    let app = found.map(|(a, _)| a).or(restore.map(|d| &d.app));
    let managed = found.map(|(_, m)| m).unwrap_or(true);
    let key = desired.app.identity.key();
    let mut changes = Vec::new();
    let mut unmanaged = Vec::new();
    let mut notes = Vec::new();

    // 1. The application.
    let (fields, payload) = app_fields(&desired.app, app, resolved.as_deref());
    let app_ref = ObjectRef {
        kind: ObjectKind::Application,
        key: key.clone(),
        display: desired.app.display_name.clone(),
        id: app.map(|a| a.id.clone()),
    };
    match app {
        Some(_) if let Some(d) = restore => changes.push(crate::restore::restore_change(
            desired,
            d,
            fields,
            payload,
            observed.deleted.read_at,
        )),
        None => changes.push(Change {
            object: app_ref,
            action: Action::Create,
            fields,
            reason: format!(
                "no application with uniqueName `{key}` or tag `{}` exists",
                desired.app.identity.managed_tag()
            ),
            risks: vec![],
            payload: Value::Object(payload),
        }),
        Some(a) => {
            if let Some(u) = &desired.app.identity.unique_name
                && a.unique_name.as_deref() != Some(u.as_str())
            {
                notes.push(Note {
                    kind: NoteKind::Warning,
                    message: format!(
                        "the adopted application has uniqueName {}, not `{u}` from the spec; uniqueName cannot be changed after creation, so entractl finds it by appId and its `{}` tag",
                        a.unique_name
                            .as_deref()
                            .map(|s| format!("`{s}`"))
                            .unwrap_or_else(|| "(none)".to_string()),
                        desired.app.identity.managed_tag()
                    ),
                });
            }
            let (action, reason, risks) = if !managed {
                (
                    Action::Adopt,
                    format!(
                        "the spec adopts the existing application by appId {}; entractl tags it `{}` and manages it from now on",
                        a.app_id,
                        desired.app.identity.managed_tag()
                    ),
                    vec![Risk::Adoption],
                )
            } else if fields.is_empty() {
                (Action::NoOp, "in sync with the spec".to_string(), vec![])
            } else {
                (
                    Action::Update,
                    "properties differ from the spec".to_string(),
                    vec![],
                )
            };
            changes.push(Change {
                object: app_ref,
                action,
                fields,
                reason,
                risks,
                payload: if action == Action::NoOp {
                    Value::Null
                } else {
                    Value::Object(payload)
                },
            });
            unmanaged.extend(unmanaged_fields(&desired.app, a));
        }
    }

    // 2. Its service principal.
    let sp = observed
        .service_principal
        .as_ref()
        .filter(|_| app.is_some());
    let sp_ref = ObjectRef {
        kind: ObjectKind::ServicePrincipal,
        key: key.clone(),
        display: desired.app.display_name.clone(),
        id: sp.map(|s| s.id.clone()),
    };
    let sp_tag = desired.app.identity.managed_tag();
    match sp {
        None => changes.push(Change {
            object: sp_ref,
            action: Action::Create,
            fields: vec![FieldChange {
                path: "appId".into(),
                before: Value::Null,
                after: app.map(|a| json!(a.app_id)).unwrap_or(json!("(known after apply)")),
            }],
            reason: "the application has no service principal (enterprise application) in this tenant; sign-in and consent need one".into(),
            risks: vec![],
            payload: json!({
                "appId": app.map(|a| json!(a.app_id)).unwrap_or(Value::Null),
                "tags": [INTEGRATED_APP_TAG, sp_tag],
            }),
        }),
        Some(s) if !s.tags.iter().any(|t| t.eq_ignore_ascii_case(&sp_tag)) => {
            let mut after = s.tags.clone();
            after.push(sp_tag);
            changes.push(Change {
                object: sp_ref,
                action: Action::Update,
                fields: vec![FieldChange {
                    path: "tags".into(),
                    before: json!(s.tags),
                    after: json!(after),
                }],
                reason: "mark the service principal as managed (found in one read next time)".into(),
                risks: vec![],
                payload: json!({ "tags": after }),
            })
        }
        Some(_) => changes.push(Change {
            object: sp_ref,
            action: Action::NoOp,
            fields: vec![],
            reason: "exists".into(),
            risks: vec![],
            payload: Value::Null,
        }),
    }

    // 3. Admin consent: one AllPrincipals grant per resource API.
    if let (Some(consent), Some(resolved)) = (desired.app.admin_consent, resolved.as_ref()) {
        let grants: Vec<_> = observed
            .grants
            .iter()
            .filter(|g| sp.is_some_and(|s| normalize::guid(&g.client_id) == normalize::guid(&s.id)))
            .filter(|g| g.is_all_principals())
            .collect();
        for r in resolved {
            let want: Vec<String> = if consent {
                r.delegated.iter().map(|(_, v)| v.clone()).collect()
            } else {
                vec![]
            };
            let existing = grants
                .iter()
                .find(|g| normalize::guid(&g.resource_id) == normalize::guid(&r.sp.id));
            let gref = ObjectRef {
                kind: ObjectKind::OAuth2PermissionGrant,
                key: format!("{key} → {}", r.label),
                display: format!("{} → {}, AllPrincipals", desired.app.display_name, r.label),
                id: existing.map(|g| g.id.clone()),
            };
            match existing {
                None if want.is_empty() => {}
                None => changes.push(Change {
                    object: gref,
                    action: Action::Create,
                    fields: vec![FieldChange {
                        path: "scope".into(),
                        before: Value::Null,
                        after: json!(sorted(&want)),
                    }],
                    reason: "admin consent: the spec asks for a tenant-wide grant of the delegated permissions".into(),
                    risks: vec![Risk::TenantWideConsent],
                    payload: json!({
                        "clientId": sp.map(|s| json!(s.id)).unwrap_or(Value::Null),
                        "consentType": "AllPrincipals",
                        "resourceId": r.sp.id,
                        "scope": want.join(" "),
                    }),
                }),
                Some(g) if want.is_empty() => changes.push(Change {
                    object: gref,
                    action: Action::Delete,
                    fields: vec![FieldChange {
                        path: "scope".into(),
                        before: json!(sorted(&g.scopes())),
                        after: Value::Null,
                    }],
                    reason: if consent {
                        "the spec lists no delegated permissions for this API".into()
                    } else {
                        "the spec sets `adminConsent: false`".into()
                    },
                    risks: vec![Risk::Removal],
                    payload: Value::Null,
                }),
                Some(g) => {
                    if normalize::set_ci(g.scopes()) != normalize::set_ci(&want) {
                        let added = normalize::set_ci(&want)
                            .difference(&normalize::set_ci(g.scopes()))
                            .count();
                        changes.push(Change {
                            object: gref,
                            action: Action::Update,
                            fields: vec![FieldChange {
                                path: "scope".into(),
                                before: json!(sorted(&g.scopes())),
                                after: json!(sorted(&want)),
                            }],
                            reason: "the granted scopes differ from the delegated permissions in the spec".into(),
                            risks: if added > 0 {
                                vec![Risk::TenantWideConsent]
                            } else {
                                vec![]
                            },
                            payload: json!({ "scope": want.join(" ") }),
                        });
                    } else {
                        changes.push(Change {
                            object: gref,
                            action: Action::NoOp,
                            fields: vec![],
                            reason: "granted as the spec asks".into(),
                            risks: vec![],
                            payload: Value::Null,
                        });
                    }
                }
            }
        }
        let named: BTreeSet<String> = resolved.iter().map(|r| normalize::guid(&r.sp.id)).collect();
        for g in grants {
            if !named.contains(&normalize::guid(&g.resource_id)) {
                notes.push(Note {
                    kind: NoteKind::Unmanaged,
                    message: format!(
                        "a tenant-wide grant to resource {} ({}) exists that the spec does not mention; left as is",
                        g.resource_id,
                        g.scope
                    ),
                });
            }
        }
    }

    if let (Some(true), Some(resolved)) = (desired.app.admin_consent, resolved.as_ref()) {
        for r in resolved.iter().filter(|r| !r.application.is_empty()) {
            notes.push(Note {
                kind: NoteKind::NotYetApplied,
                message: format!(
                    "admin consent for the application permissions of `{}` ({}) is not granted by this version: they are declared in requiredResourceAccess only; grant them in the Entra admin center (API permissions → Grant admin consent)",
                    r.label,
                    r.application
                        .iter()
                        .map(|(_, v)| v.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }

    // 4. The MFA posture (security defaults, per-user MFA, conditional access exclusions).
    if let Some(m) = &desired.mfa {
        let (c, n) = crate::mfa::posture::plan_mfa(
            m,
            observed.mfa.as_ref().unwrap_or(&Default::default()),
            app.map(|a| a.app_id.as_str()),
        )?;
        changes.extend(c);
        notes.extend(n);
    }

    // 5. Users and groups assigned to the app (and `appRoleAssignmentRequired`).
    let assigned_groups =
        crate::assignments::plan_assignments(desired, observed, sp, &mut changes, &mut notes)?;

    for section in &desired.not_yet_applied {
        notes.push(Note {
            kind: NoteKind::NotYetApplied,
            message: format!(
                "`{section}` in the spec is not applied by this version of entractl: it is not in this plan, apply does not change it and does not report it as converged"
            ),
        });
    }

    changes.sort_by_key(|c| c.object.kind.rank());

    let tenant_id = observed.tenant_id.clone().or_else(|| {
        normalize::is_guid(&desired.tenant).then(|| desired.tenant.to_ascii_lowercase())
    });
    let authority = if desired.authority_url.is_empty() {
        default_authority_url(&desired.cloud).to_string()
    } else {
        desired.authority_url.trim_end_matches('/').to_string()
    };
    let outputs = Outputs {
        oidc_metadata_url: Some(format!(
            "{authority}/{}/v2.0/.well-known/openid-configuration",
            tenant_id.as_deref().unwrap_or(&desired.tenant)
        )),
        tenant_id,
        client_id: app.map(|a| a.app_id.clone()),
        application_object_id: app.map(|a| a.id.clone()),
        service_principal_object_id: sp.map(|s| s.id.clone()),
        assigned_groups,
    };

    Ok(Plan {
        tenant: desired.tenant.clone(),
        cloud: desired.cloud.clone(),
        changes,
        notes,
        unmanaged,
        outputs,
    })
}

/// One candidate application in an ambiguity error: name, appId and how it was found.
fn describe_candidate(c: &Candidate) -> String {
    format!(
        "\"{}\" (appId {}, found by {})",
        c.app.display_name,
        c.app.app_id,
        c.matched_by
            .iter()
            .map(|m| m.describe())
            .collect::<Vec<_>>()
            .join(" and ")
    )
}

fn claim_json(c: &OptionalClaim) -> Value {
    json!({
        "name": c.name,
        "source": c.source,
        "essential": c.essential,
        "additionalProperties": c.additional_properties,
    })
}

type ClaimKey = (String, Option<String>, bool, BTreeSet<String>);

/// The comparison key of one optional claim (name, source, essential, additional properties):
/// names lower-cased, an empty source the same as none.
fn claim_key(
    (name, source, essential, props): (&String, &Option<String>, bool, &Vec<String>),
) -> ClaimKey {
    (
        name.to_ascii_lowercase(),
        source
            .as_ref()
            .filter(|s| !s.is_empty())
            .map(|s| s.to_ascii_lowercase()),
        essential,
        props.iter().map(|p| p.to_ascii_lowercase()).collect(),
    )
}

fn claim_set_desired(cs: &[OptionalClaim]) -> BTreeSet<ClaimKey> {
    cs.iter()
        .map(|c| (&c.name, &c.source, c.essential, &c.additional_properties))
        .map(claim_key)
        .collect()
}

fn claim_set_observed(cs: &[ObservedClaim]) -> BTreeSet<ClaimKey> {
    cs.iter()
        .map(|c| (&c.name, &c.source, c.essential, &c.additional_properties))
        .map(claim_key)
        .collect()
}

fn claim_names(cs: &[ObservedClaim]) -> Value {
    json!(cs.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
}

/// A display order for collections: duplicates removed, sorted case-insensitively.
fn sorted(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = normalize::set(v).into_iter().collect();
    out.sort_by_key(|s| (s.to_lowercase(), s.clone()));
    out
}

/// Human-readable access list of one resource, e.g. `["email (delegated)", "User.Read.All (application)"]`.
fn access_labels(access: &BTreeSet<(String, String)>, resources: &[ResolvedResource]) -> Value {
    let name = |id: &str, ty: &str| -> String {
        for r in resources {
            let list = if ty.eq_ignore_ascii_case("scope") {
                &r.sp.scopes
            } else {
                &r.sp.roles
            };
            if let Some((_, v)) = list.iter().find(|(i, _)| i.eq_ignore_ascii_case(id)) {
                return v.clone();
            }
        }
        id.to_string()
    };
    let mut out: Vec<String> = access
        .iter()
        .map(|(id, ty)| {
            let kind = if ty.eq_ignore_ascii_case("scope") {
                "delegated"
            } else {
                "application"
            };
            format!("{} ({kind})", name(id, ty))
        })
        .collect();
    out.sort();
    json!(out)
}

/// Field changes of the application and the PATCH/POST body that makes them.
fn app_fields(
    d: &DesiredApp,
    o: Option<&Application>,
    resolved: Option<&[ResolvedResource]>,
) -> (Vec<FieldChange>, Map<String, Value>) {
    let mut fields = Vec::new();
    let mut body = Map::new();
    let raw = o.map(|a| a.raw.clone()).unwrap_or(Value::Null);
    let creating = o.is_none();
    let change = |fields: &mut Vec<FieldChange>, path: &str, before: Value, after: Value| {
        fields.push(FieldChange {
            path: path.to_string(),
            before: if creating { Value::Null } else { before },
            after,
        });
    };

    if creating && let Some(u) = &d.identity.unique_name {
        change(&mut fields, "uniqueName", Value::Null, json!(u));
        body.insert("uniqueName".into(), json!(u));
    }
    if o.is_none_or(|a| a.display_name != d.display_name) {
        change(
            &mut fields,
            "displayName",
            json!(o.map(|a| a.display_name.clone())),
            json!(d.display_name),
        );
        body.insert("displayName".into(), json!(d.display_name));
    }
    let tag = d.identity.managed_tag();
    let tags = o.map(|a| a.tags.clone()).unwrap_or_default();
    if !tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
        let mut after = tags.clone();
        after.push(tag);
        change(&mut fields, "tags", json!(tags), json!(after));
        body.insert("tags".into(), json!(after));
    }
    if let Some(want) = &d.sign_in_audience {
        let have = o
            .and_then(|a| a.sign_in_audience.clone())
            .unwrap_or_else(|| DEFAULT_SIGN_IN_AUDIENCE.to_string());
        if creating || !have.eq_ignore_ascii_case(want) {
            change(&mut fields, "signInAudience", json!(have), json!(want));
            body.insert("signInAudience".into(), json!(want));
        }
    }
    if let Some(want) = d.is_fallback_public_client {
        let have = o.and_then(|a| a.is_fallback_public_client).unwrap_or(false);
        if creating || have != want {
            change(
                &mut fields,
                "isFallbackPublicClient",
                json!(have),
                json!(want),
            );
            body.insert("isFallbackPublicClient".into(), json!(want));
        }
    }
    for (platform, want, have) in [
        (
            "web",
            &d.web_redirect_uris,
            o.map(|a| a.web_redirect_uris.clone()),
        ),
        (
            "publicClient",
            &d.public_client_redirect_uris,
            o.map(|a| a.public_client_redirect_uris.clone()),
        ),
        (
            "spa",
            &d.spa_redirect_uris,
            o.map(|a| a.spa_redirect_uris.clone()),
        ),
    ] {
        let Some(want) = want else { continue };
        let have = have.unwrap_or_default();
        if creating || normalize::set(want) != normalize::set(&have) {
            change(
                &mut fields,
                &format!("{platform}.redirectUris"),
                json!(sorted(&have)),
                json!(sorted(want)),
            );
            // `web`/`publicClient`/`spa` are complex values: send the current one with only
            // `redirectUris` replaced, so nothing else in it is reset.
            let mut obj = raw
                .get(platform)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            obj.insert("redirectUris".into(), json!(dedup(want)));
            // Graph keeps `redirectUriSettings` in step with `redirectUris`; a stale copy would
            // contradict the new list.
            obj.remove("redirectUriSettings");
            body.insert(platform.into(), Value::Object(obj));
        }
    }
    let mut claims_changed = false;
    let mut claims_obj = raw
        .get("optionalClaims")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (token, want, have) in [
        (
            "idToken",
            &d.optional_claims.id_token,
            o.map(|a| a.id_token_claims.clone()),
        ),
        (
            "accessToken",
            &d.optional_claims.access_token,
            o.map(|a| a.access_token_claims.clone()),
        ),
        (
            "saml2Token",
            &d.optional_claims.saml2_token,
            o.map(|a| a.saml2_token_claims.clone()),
        ),
    ] {
        let Some(want) = want else { continue };
        let have = have.unwrap_or_default();
        if claim_set_desired(want) != claim_set_observed(&have) || (creating && !want.is_empty()) {
            let mut before_names: Vec<String> = have.iter().map(|c| c.name.clone()).collect();
            before_names.sort();
            let mut after_names: Vec<String> = want.iter().map(|c| c.name.clone()).collect();
            after_names.sort();
            // When only essential/source/additionalProperties differ, show the full claims.
            let (before, after) = if before_names == after_names {
                (
                    json!(
                        have.iter()
                            .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
                            .collect::<Vec<_>>()
                    ),
                    json!(want.iter().map(claim_json).collect::<Vec<_>>()),
                )
            } else {
                (claim_names(&have), json!(after_names))
            };
            change(
                &mut fields,
                &format!("optionalClaims.{token}"),
                before,
                after,
            );
            claims_obj.insert(
                token.into(),
                json!(want.iter().map(claim_json).collect::<Vec<_>>()),
            );
            claims_changed = true;
        }
    }
    if claims_changed {
        for t in ["idToken", "accessToken", "saml2Token"] {
            claims_obj.entry(t).or_insert_with(|| json!([]));
        }
        body.insert("optionalClaims".into(), Value::Object(claims_obj));
    }
    if let Some(want) = &d.group_membership_claims {
        let have = o.and_then(|a| a.group_membership_claims.clone());
        if creating && normalize::group_claims(Some(want)) != "none"
            || !creating
                && normalize::group_claims(have.as_deref()) != normalize::group_claims(Some(want))
        {
            change(
                &mut fields,
                "groupMembershipClaims",
                json!(have.unwrap_or_else(|| "None".into())),
                json!(want),
            );
            body.insert("groupMembershipClaims".into(), json!(want));
        }
    }
    if let Some(resolved) = resolved {
        let mut want: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
        for r in resolved {
            let e = want.entry(normalize::guid(&r.sp.app_id)).or_default();
            for (id, _) in &r.delegated {
                e.insert((normalize::guid(id), "Scope".into()));
            }
            for (id, _) in &r.application {
                e.insert((normalize::guid(id), "Role".into()));
            }
        }
        want.retain(|_, v| !v.is_empty());
        let mut have: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
        for rra in o
            .map(|a| a.required_resource_access.as_slice())
            .unwrap_or(&[])
        {
            let e = have
                .entry(normalize::guid(&rra.resource_app_id))
                .or_default();
            for (id, ty) in &rra.access {
                let ty = if ty.eq_ignore_ascii_case("scope") {
                    "Scope"
                } else {
                    "Role"
                };
                e.insert((normalize::guid(id), ty.into()));
            }
        }
        have.retain(|_, v| !v.is_empty());
        if want != have {
            let keys: BTreeSet<&String> = want.keys().chain(have.keys()).collect();
            let empty = BTreeSet::new();
            for k in keys {
                let (w, h) = (want.get(k).unwrap_or(&empty), have.get(k).unwrap_or(&empty));
                if w != h {
                    let label = resolved
                        .iter()
                        .find(|r| normalize::guid(&r.sp.app_id) == *k)
                        .map(|r| r.label.clone())
                        .unwrap_or_else(|| k.clone());
                    change(
                        &mut fields,
                        &format!("requiredResourceAccess[{label}]"),
                        if h.is_empty() {
                            Value::Null
                        } else {
                            access_labels(h, resolved)
                        },
                        if w.is_empty() {
                            Value::Null
                        } else {
                            access_labels(w, resolved)
                        },
                    );
                }
            }
            body.insert(
                "requiredResourceAccess".into(),
                json!(want
                    .iter()
                    .map(|(app_id, access)| json!({
                        "resourceAppId": app_id,
                        "resourceAccess": access.iter().map(|(id, ty)| json!({"id": id, "type": ty})).collect::<Vec<_>>(),
                    }))
                    .collect::<Vec<_>>()),
            );
        }
    }
    (fields, body)
}

fn dedup(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v {
        let s = s.trim().to_string();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// Properties of the existing application that the spec leaves unmanaged and that have a value.
fn unmanaged_fields(d: &DesiredApp, a: &Application) -> Vec<Unmanaged> {
    let mut out = Vec::new();
    let mut push = |path: &str, managed: bool, current: Value| {
        let empty = current.is_null() || current.as_array().is_some_and(|x| x.is_empty());
        if !managed && !empty {
            out.push(Unmanaged {
                object: ObjectKind::Application,
                path: path.into(),
                current,
            });
        }
    };
    push(
        "signInAudience",
        d.sign_in_audience.is_some(),
        json!(a.sign_in_audience),
    );
    push(
        "isFallbackPublicClient",
        d.is_fallback_public_client.is_some(),
        json!(a.is_fallback_public_client),
    );
    push(
        "web.redirectUris",
        d.web_redirect_uris.is_some(),
        json!(sorted(&a.web_redirect_uris)),
    );
    push(
        "publicClient.redirectUris",
        d.public_client_redirect_uris.is_some(),
        json!(sorted(&a.public_client_redirect_uris)),
    );
    push(
        "spa.redirectUris",
        d.spa_redirect_uris.is_some(),
        json!(sorted(&a.spa_redirect_uris)),
    );
    push(
        "optionalClaims.idToken",
        d.optional_claims.id_token.is_some(),
        claim_names(&a.id_token_claims),
    );
    push(
        "optionalClaims.accessToken",
        d.optional_claims.access_token.is_some(),
        claim_names(&a.access_token_claims),
    );
    push(
        "optionalClaims.saml2Token",
        d.optional_claims.saml2_token.is_some(),
        claim_names(&a.saml2_token_claims),
    );
    push(
        "groupMembershipClaims",
        d.group_membership_claims.is_some(),
        json!(a.group_membership_claims),
    );
    push(
        "requiredResourceAccess",
        d.api_permissions.is_some(),
        json!(
            a.required_resource_access
                .iter()
                .map(|r| r.resource_app_id.clone())
                .collect::<Vec<_>>()
        ),
    );
    out
}

/// Convenience for callers: a `ResourceRef` for every API named in the spec.
pub fn resources_named(desired: &Desired) -> Vec<ResourceRef> {
    let mut v: Vec<ResourceRef> = desired
        .app
        .api_permissions
        .iter()
        .flatten()
        .map(|p| p.resource.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}
