//! The permission check before Graph is read or written: what this spec needs (the table of
//! `entractl permissions`) against the token's `roles` (app-only) or `scp` (delegated). Every
//! missing permission is reported at once, before the first read (`plan`) or the first write
//! (`apply`), so a run never leaves a tenant half-applied for want of a permission.

use entractl_engine::permissions::Needed;
use entractl_graph::{AuthError, Claims, GraphClient, MissingPermissions};

/// Why the check could not pass.
#[derive(Debug)]
pub enum CheckError {
    /// No token: the credential failed.
    Auth(AuthError),
    /// No token, for another reason.
    Graph(entractl_graph::GraphError),
    /// The token lacks permissions.
    Missing(Box<Missing>),
}

/// Reading (plan) or writing (apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Plan,
    Apply,
}

/// Permissions the token lacks for a phase, each with why this spec needs it.
#[derive(Debug)]
pub struct Missing {
    pub phase: Phase,
    pub missing: MissingPermissions,
    /// `(permission, why)` for each missing permission, in the order of `entractl permissions`.
    pub needed: Vec<(String, String)>,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (verb, nothing) = match self.phase {
            Phase::Plan => ("read the tenant for this plan", "nothing was read"),
            Phase::Apply => ("apply this plan", "nothing was written"),
        };
        let who = match (&self.missing.client_id, self.missing.app_only) {
            (Some(c), true) => format!("the application {c}"),
            (None, true) => "the application".to_string(),
            (_, false) => match &self.missing.user {
                Some(u) => format!("the delegated sign-in of {u}"),
                None => "the delegated sign-in".to_string(),
            },
        };
        write!(
            f,
            "{who} lacks {} Microsoft Graph permission(s) needed to {verb}; {nothing}:",
            self.needed.len()
        )?;
        for (permission, why) in &self.needed {
            write!(f, "\n  - {permission}: {why}")?;
        }
        Ok(())
    }
}

/// What the check found when nothing is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The token carries every permission.
    Passed,
    /// The token's permissions cannot be read from it; the reason is printed.
    Skipped(String),
}

/// Checks `needed` against the claims of `token_text` (an access token).
pub fn check_claims(
    token_text: &str,
    needed: &[Needed],
    phase: Phase,
) -> Result<Checked, Box<Missing>> {
    let Some(claims) = Claims::decode(token_text) else {
        return Ok(Checked::Skipped(
            "the access token is opaque (not a JWT entractl can read)".into(),
        ));
    };
    if !claims.is_app_only()
        && claims
            .scopes()
            .iter()
            .any(|s| s.eq_ignore_ascii_case("Directory.AccessAsUser.All"))
    {
        return Ok(Checked::Skipped(
            "the delegated token carries Directory.AccessAsUser.All: what it may do depends on the signed-in user's directory roles".into(),
        ));
    }
    let required: Vec<&str> = needed.iter().map(|n| n.permission).collect();
    match claims.check_permissions(&required) {
        Ok(()) => Ok(Checked::Passed),
        Err(missing) => {
            let lacking: Vec<(String, String)> = needed
                .iter()
                .filter(|n| claims.check_permissions(&[n.permission]).is_err())
                .map(|n| (n.permission.to_string(), n.why.clone()))
                .collect();
            Err(Box::new(Missing {
                phase,
                missing,
                needed: lacking,
            }))
        }
    }
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A warning when `AZURE_TENANT_ID` names another tenant than the spec: entractl signs in to
/// the spec's tenant. A GUID and a domain are compared through the token's `tid` when known.
pub fn tenant_warning(spec: &str, env: Option<&str>, tid: Option<&str>) -> Option<String> {
    let env = env.map(str::trim).filter(|e| !e.is_empty())?;
    if env.eq_ignore_ascii_case(spec) {
        return None;
    }
    let differs = match (is_guid(env), is_guid(spec)) {
        (true, true) | (false, false) => true,
        (true, false) => tid.is_some_and(|t| !t.eq_ignore_ascii_case(env)),
        (false, true) => false,
    };
    differs.then(|| {
        format!(
            "warning: AZURE_TENANT_ID is {env} but the spec's `tenant:` is {spec}: entractl uses the spec's tenant ({spec}) and ignores AZURE_TENANT_ID"
        )
    })
}

/// Checks the client's current token; a skipped check is said on stderr, and so is an
/// `AZURE_TENANT_ID` that names another tenant than the spec.
pub async fn check(
    client: &GraphClient,
    needed: &[Needed],
    phase: Phase,
) -> Result<(), CheckError> {
    let token = client.token().await.map_err(|e| {
        // A credential failure is worded as one (with its hints), not as a Graph call.
        match e
            .source
            .as_deref()
            .and_then(|s| s.downcast_ref::<AuthError>())
        {
            Some(auth) => CheckError::Auth(auth.clone()),
            None => CheckError::Graph(e),
        }
    })?;
    if phase == Phase::Plan {
        let env = std::env::var("AZURE_TENANT_ID").ok();
        let tid = token.claims().tid.as_deref();
        if let Some(w) = tenant_warning(&client.config().tenant, env.as_deref(), tid) {
            eprintln!("{w}");
        }
    }
    match check_claims(token.secret().expose(), needed, phase) {
        Ok(Checked::Passed) => Ok(()),
        Ok(Checked::Skipped(why)) => {
            let before = match phase {
                Phase::Plan => "reading",
                Phase::Apply => "writing",
            };
            crate::quiet::note(&format!(
                "note: {why}, so its permissions were not checked before {before}; Graph refuses what it does not allow"
            ));
            Ok(())
        }
        Err(missing) => Err(CheckError::Missing(missing)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn jwt(claims: serde_json::Value) -> String {
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            e.encode(r#"{"alg":"none"}"#),
            e.encode(claims.to_string())
        )
    }

    fn needed(list: &[&'static str]) -> Vec<Needed> {
        list.iter()
            .map(|p| Needed {
                permission: p,
                why: format!("why {p}"),
            })
            .collect()
    }

    #[test]
    fn every_missing_permission_is_listed_with_its_reason() {
        let token =
            jwt(serde_json::json!({"roles": ["Application.Read.All"], "appid": "a1", "tid": "t1"}));
        let need = needed(&[
            "Application.Read.All",
            "DelegatedPermissionGrant.Read.All",
            "Policy.Read.All",
        ]);
        let m = check_claims(&token, &need, Phase::Plan).unwrap_err();
        assert_eq!(
            m.needed,
            [
                (
                    "DelegatedPermissionGrant.Read.All".to_string(),
                    "why DelegatedPermissionGrant.Read.All".to_string()
                ),
                (
                    "Policy.Read.All".to_string(),
                    "why Policy.Read.All".to_string()
                ),
            ]
        );
        assert!(m.to_string().starts_with("the application a1 lacks 2 Microsoft Graph permission(s) needed to read the tenant for this plan; nothing was read:"), "{m}");
    }

    #[test]
    fn azure_tenant_id_that_names_another_tenant_is_a_warning() {
        let g1 = "3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e5f";
        let g2 = "3f2a6c1e-5b7d-4c1a-9e2f-0a1b2c3d4e60";
        let d = "contoso.onmicrosoft.com";
        assert_eq!(tenant_warning(d, None, None), None);
        assert_eq!(
            tenant_warning(d, Some("CONTOSO.onmicrosoft.com"), None),
            None
        );
        // The same tenant by id and by domain: the token's tid says so.
        assert_eq!(tenant_warning(d, Some(g1), Some(g1)), None);
        assert!(tenant_warning(d, Some(g2), Some(g1)).is_some());
        assert!(tenant_warning(g1, Some(g2), None).is_some());
        let w = tenant_warning(d, Some("fabrikam.com"), None).unwrap();
        assert_eq!(
            w,
            "warning: AZURE_TENANT_ID is fabrikam.com but the spec's `tenant:` is contoso.onmicrosoft.com: entractl uses the spec's tenant (contoso.onmicrosoft.com) and ignores AZURE_TENANT_ID"
        );
    }

    #[test]
    fn broader_permissions_satisfy_and_opaque_tokens_are_skipped() {
        let token = jwt(serde_json::json!({"roles": ["Application.ReadWrite.All"]}));
        let need = needed(&["Application.Read.All", "Application.ReadWrite.OwnedBy"]);
        assert_eq!(
            check_claims(&token, &need, Phase::Apply).unwrap(),
            Checked::Passed
        );
        assert!(matches!(
            check_claims("not-a-jwt", &need, Phase::Apply),
            Ok(Checked::Skipped(_))
        ));
        let delegated = jwt(serde_json::json!({"scp": "Directory.AccessAsUser.All User.Read"}));
        assert!(matches!(
            check_claims(&delegated, &need, Phase::Apply),
            Ok(Checked::Skipped(_))
        ));
    }
}
