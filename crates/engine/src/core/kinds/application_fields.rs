//! The application's fields: what differs from the spec, the PATCH (or create) body that makes
//! it so, and the properties the spec leaves unmanaged.

use std::collections::{BTreeMap, BTreeSet};

use entractl_graph::resource::application::{
    self as graph_app, Application, OptionalClaim as GraphClaim, Platform, ROLE, SCOPE, TokenType,
};
use serde_json::{Map, Value, json};

use super::context::ResolvedResource;
use crate::core::desired::{DesiredApp, OptionalClaim};
use crate::core::normalize::{self, DEFAULT_SIGN_IN_AUDIENCE};
use crate::core::plan::{FieldChange, ObjectKind, Unmanaged};

/// A display order for collections: duplicates removed, sorted case-insensitively.
pub fn sorted(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = normalize::set(v).into_iter().collect();
    out.sort_by_key(|s| (s.to_lowercase(), s.clone()));
    out
}

/// Field changes and the body that makes them (`o`: the application as it is; `None` when it is
/// created).
pub struct AppFields<'a> {
    d: &'a DesiredApp,
    o: Option<&'a Application>,
    pub fields: Vec<FieldChange>,
    pub body: Map<String, Value>,
}

impl<'a> AppFields<'a> {
    /// Compares every managed property of `d` with `o`.
    pub fn diff(
        d: &'a DesiredApp,
        o: Option<&'a Application>,
        resolved: Option<&[ResolvedResource]>,
    ) -> AppFields<'a> {
        let mut f = AppFields {
            d,
            o,
            fields: Vec::new(),
            body: Map::new(),
        };
        f.identity();
        f.scalars();
        for p in Platform::ALL {
            f.redirect_uris(p);
        }
        f.optional_claims();
        f.group_membership_claims();
        if let Some(resolved) = resolved {
            f.required_resource_access(resolved);
        }
        f
    }

    fn creating(&self) -> bool {
        self.o.is_none()
    }

    fn change(&mut self, path: &str, before: Value, after: Value) {
        let before = if self.creating() { Value::Null } else { before };
        self.fields.push(FieldChange {
            path: path.to_string(),
            before,
            after,
        });
    }

    fn identity(&mut self) {
        let (d, o) = (self.d, self.o);
        if self.creating()
            && let Some(u) = &d.identity.unique_name
        {
            self.change("uniqueName", Value::Null, json!(u));
            self.body.insert("uniqueName".into(), json!(u));
        }
        if o.is_none_or(|a| a.display_name != d.display_name) {
            let before = json!(o.map(|a| a.display_name.clone()));
            self.change("displayName", before, json!(d.display_name));
            self.body
                .insert("displayName".into(), json!(d.display_name));
        }
        let tag = d.identity.managed_tag();
        let tags = o.map(|a| a.tags.clone()).unwrap_or_default();
        if !tags.iter().any(|t| t.eq_ignore_ascii_case(&tag)) {
            let mut after = tags.clone();
            after.push(tag);
            self.change("tags", json!(tags), json!(after));
            self.body.insert("tags".into(), json!(after));
        }
    }

    fn scalars(&mut self) {
        let (d, o) = (self.d, self.o);
        if let Some(want) = &d.sign_in_audience {
            let have = o
                .and_then(|a| a.sign_in_audience.clone())
                .unwrap_or_else(|| DEFAULT_SIGN_IN_AUDIENCE.to_string());
            if self.creating() || !have.eq_ignore_ascii_case(want) {
                self.change("signInAudience", json!(have), json!(want));
                self.body.insert("signInAudience".into(), json!(want));
            }
        }
        if let Some(want) = d.is_fallback_public_client {
            let have = o.and_then(|a| a.is_fallback_public_client).unwrap_or(false);
            if self.creating() || have != want {
                self.change("isFallbackPublicClient", json!(have), json!(want));
                self.body
                    .insert("isFallbackPublicClient".into(), json!(want));
            }
        }
    }

    fn redirect_uris(&mut self, p: Platform) {
        let Some(want) = self.d.redirect_uris(p) else {
            return;
        };
        let have: Vec<String> = self
            .o
            .map(|a| a.redirect_uris(p).to_vec())
            .unwrap_or_default();
        // A new application has no redirect URIs: an empty list asks for nothing at creation.
        let nothing_to_create = self.creating() && want.is_empty();
        if nothing_to_create || (!self.creating() && normalize::set(want) == normalize::set(&have))
        {
            return;
        }
        let path = format!("{}.redirectUris", p.property());
        self.change(&path, json!(sorted(&have)), json!(sorted(want)));
        // A complex value: the current one is sent with only `redirectUris` replaced.
        let current = self.o.and_then(|a| a.platform(p));
        self.body.insert(
            p.property().into(),
            graph_app::redirect_uris_value(current, &dedup(want)),
        );
    }

    fn optional_claims(&mut self) {
        let mut replaced: Vec<(TokenType, Vec<Value>)> = Vec::new();
        for token in TokenType::ALL {
            let Some(want) = self.d.optional_claims.of(token) else {
                continue;
            };
            let have: Vec<GraphClaim> =
                self.o.map(|a| a.claims(token).to_vec()).unwrap_or_default();
            let differ = desired_set(want) != observed_set(&have);
            let created_with_claims = self.creating() && !want.is_empty();
            if !differ && !created_with_claims {
                continue;
            }
            let (before, after) = claims_shown(want, &have);
            self.change(
                &format!("optionalClaims.{}", token.property()),
                before,
                after,
            );
            replaced.push((token, want.iter().map(claim_body).collect()));
        }
        if !replaced.is_empty() {
            let current = self.o.and_then(|a| a.optional_claims.as_ref());
            self.body.insert(
                "optionalClaims".into(),
                graph_app::optional_claims_value(current, &replaced),
            );
        }
    }

    fn group_membership_claims(&mut self) {
        let Some(want) = &self.d.group_membership_claims else {
            return;
        };
        let o = self.o;
        let differ = match o {
            None => !want.0.is_empty(),
            Some(a) => a.group_membership_claims().as_ref() != Some(want),
        };
        if differ {
            let before = json!(
                o.and_then(|a| a.group_membership_claims.clone())
                    .unwrap_or_else(|| "None".into())
            );
            self.change("groupMembershipClaims", before, json!(want.graph_value()));
            self.body
                .insert("groupMembershipClaims".into(), json!(want.graph_value()));
        }
    }

    fn required_resource_access(&mut self, resolved: &[ResolvedResource]) {
        let want = wanted_access(resolved);
        let have = current_access(self.o);
        if want == have {
            return;
        }
        let keys: BTreeSet<&String> = want.keys().chain(have.keys()).collect();
        let empty = BTreeSet::new();
        for k in keys {
            let (w, h) = (want.get(k).unwrap_or(&empty), have.get(k).unwrap_or(&empty));
            if w == h {
                continue;
            }
            let label = resolved
                .iter()
                .find(|r| normalize::guid(&r.sp.app_id) == *k)
                .map(|r| r.label.clone())
                .unwrap_or_else(|| k.clone());
            let shown = |s: &BTreeSet<(String, String)>| {
                if s.is_empty() {
                    Value::Null
                } else {
                    access_labels(s, resolved)
                }
            };
            self.change(
                &format!("requiredResourceAccess[{label}]"),
                shown(h),
                shown(w),
            );
        }
        let entries: Vec<(String, Vec<(String, String)>)> = want
            .into_iter()
            .map(|(app_id, access)| (app_id, access.into_iter().collect()))
            .collect();
        self.body.insert(
            "requiredResourceAccess".into(),
            graph_app::required_resource_access_value(&entries),
        );
    }

    /// Properties of the existing application that the spec leaves unmanaged and that have a
    /// value.
    pub fn unmanaged(&self) -> Vec<Unmanaged> {
        let (Some(a), d) = (self.o, self.d) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut push = |path: String, managed: bool, current: Value| {
            let empty = current.is_null() || current.as_array().is_some_and(|x| x.is_empty());
            if !managed && !empty {
                out.push(Unmanaged {
                    object: ObjectKind::Application,
                    path,
                    current,
                });
            }
        };
        push(
            "signInAudience".into(),
            d.sign_in_audience.is_some(),
            json!(a.sign_in_audience),
        );
        push(
            "isFallbackPublicClient".into(),
            d.is_fallback_public_client.is_some(),
            json!(a.is_fallback_public_client),
        );
        for p in Platform::ALL {
            push(
                format!("{}.redirectUris", p.property()),
                d.redirect_uris(p).is_some(),
                json!(sorted(a.redirect_uris(p))),
            );
        }
        for t in TokenType::ALL {
            push(
                format!("optionalClaims.{}", t.property()),
                d.optional_claims.of(t).is_some(),
                claim_names(a.claims(t)),
            );
        }
        push(
            "groupMembershipClaims".into(),
            d.group_membership_claims.is_some(),
            json!(a.group_membership_claims),
        );
        push(
            "requiredResourceAccess".into(),
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

fn claim_body(c: &OptionalClaim) -> Value {
    GraphClaim::body(
        &c.name,
        c.source.as_deref(),
        c.essential,
        &c.additional_properties,
    )
}

type ClaimKey = (String, Option<String>, bool, BTreeSet<String>);

/// The comparison key of one optional claim: names lower-cased, an empty source the same as
/// none.
fn claim_key(name: &str, source: Option<&String>, essential: bool, props: &[String]) -> ClaimKey {
    (
        name.to_ascii_lowercase(),
        source
            .filter(|s| !s.is_empty())
            .map(|s| s.to_ascii_lowercase()),
        essential,
        props.iter().map(|p| p.to_ascii_lowercase()).collect(),
    )
}

fn desired_set(cs: &[OptionalClaim]) -> BTreeSet<ClaimKey> {
    cs.iter()
        .map(|c| {
            claim_key(
                &c.name,
                c.source.as_ref(),
                c.essential,
                &c.additional_properties,
            )
        })
        .collect()
}

fn observed_set(cs: &[GraphClaim]) -> BTreeSet<ClaimKey> {
    cs.iter()
        .map(|c| {
            claim_key(
                &c.name,
                c.source.as_ref(),
                c.essential,
                &c.additional_properties,
            )
        })
        .collect()
}

fn claim_names(cs: &[GraphClaim]) -> Value {
    json!(cs.iter().map(|c| c.name.clone()).collect::<Vec<_>>())
}

/// How a claims change is shown: by name, or whole when only the options differ.
fn claims_shown(want: &[OptionalClaim], have: &[GraphClaim]) -> (Value, Value) {
    let mut before_names: Vec<String> = have.iter().map(|c| c.name.clone()).collect();
    before_names.sort();
    let mut after_names: Vec<String> = want.iter().map(|c| c.name.clone()).collect();
    after_names.sort();
    if before_names != after_names {
        return (claim_names(have), json!(after_names));
    }
    let before = have
        .iter()
        .map(|c| {
            GraphClaim::body(
                &c.name,
                c.source.as_deref(),
                c.essential,
                &c.additional_properties,
            )
        })
        .collect::<Vec<_>>();
    let after = want.iter().map(claim_body).collect::<Vec<_>>();
    (json!(before), json!(after))
}

type Access = BTreeMap<String, BTreeSet<(String, String)>>;

fn wanted_access(resolved: &[ResolvedResource]) -> Access {
    let mut want: Access = BTreeMap::new();
    for r in resolved {
        let e = want.entry(normalize::guid(&r.sp.app_id)).or_default();
        for (id, _) in &r.delegated {
            e.insert((normalize::guid(id), SCOPE.into()));
        }
        for (id, _) in &r.application {
            e.insert((normalize::guid(id), ROLE.into()));
        }
    }
    want.retain(|_, v| !v.is_empty());
    want
}

fn current_access(o: Option<&Application>) -> Access {
    let mut have: Access = BTreeMap::new();
    for rra in o
        .map(|a| a.required_resource_access.as_slice())
        .unwrap_or(&[])
    {
        let e = have
            .entry(normalize::guid(&rra.resource_app_id))
            .or_default();
        for ra in &rra.resource_access {
            let ty = if ra.kind.eq_ignore_ascii_case(SCOPE) {
                SCOPE
            } else {
                ROLE
            };
            e.insert((normalize::guid(&ra.id), ty.into()));
        }
    }
    have.retain(|_, v| !v.is_empty());
    have
}

/// Human-readable access list of one resource, e.g. `["email (delegated)", "User.Read.All (application)"]`.
fn access_labels(access: &BTreeSet<(String, String)>, resources: &[ResolvedResource]) -> Value {
    let name = |id: &str, ty: &str| -> String {
        for r in resources {
            let list = if ty.eq_ignore_ascii_case(SCOPE) {
                &r.sp.oauth2_permission_scopes
            } else {
                &r.sp.app_roles
            };
            if let Some(p) = list.iter().find(|p| p.id.eq_ignore_ascii_case(id)) {
                return p.value.clone();
            }
        }
        id.to_string()
    };
    let mut out: Vec<String> = access
        .iter()
        .map(|(id, ty)| {
            let kind = if ty.eq_ignore_ascii_case(SCOPE) {
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
