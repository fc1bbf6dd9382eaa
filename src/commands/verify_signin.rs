//! `entractl verify-signin SPEC --username UPN [--scope S]...`: the password sign-in Kandji
//! Passport performs, against the tenant, with the managed app's client id and the Microsoft Graph
//! delegated permissions the spec declares (the ones admin consent covers), or the `--scope`s
//! given. Success prints the ID token claims Kandji uses; failure explains the AADSTS code (cause
//! and fix) and exits 1.
//!
//! The password comes from `ENTRACTL_SIGNIN_PASSWORD` or a prompt on a terminal with echo off
//! (`stty -echo`); it is never printed or logged, and the tokens are never printed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::Args;
use entractl_engine::aadsts;
use entractl_engine::desired::{MICROSOFT_GRAPH_APP_ID, ResourceRef};
use entractl_engine::identify_app;
use entractl_engine::{Desired, fetch};
use entractl_graph::Secret;
use entractl_graph::signin::{PASSPORT_SCOPES, SignInError, SignInSuccess, password_sign_in};
use serde_json::Value;

use crate::args::GraphArgs;
use crate::error::{CommandError, Outcome};
use crate::output;
use crate::session::{announce, init_logging, load_spec, runtime, spec_client};

/// The environment variable the password is read from (before prompting).
pub const PASSWORD_ENV: &str = "ENTRACTL_SIGNIN_PASSWORD";

#[derive(Debug, Args)]
pub struct VerifySigninArgs {
    /// The spec file (its app is the one Passport signs in with).
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// The user to sign in as: the user principal name typed at the Mac's login window.
    #[arg(long, value_name = "UPN")]
    pub username: String,
    /// A scope to ask for instead of the spec's Microsoft Graph delegated permissions
    /// (repeatable; e.g. `--scope openid --scope offline_access`). Use it to match exactly
    /// what Passport on the Macs requests.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,
}

/// The scopes a sign-in asks for, and where they came from (shown with the result).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInScopes {
    pub scopes: Vec<String>,
    pub source: &'static str,
}

/// OpenID Connect scopes, in the order Passport sends them; they go first.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// What to ask for: the `--scope`s when given (each may hold several, space-separated); else the
/// Microsoft Graph delegated permissions of the spec (what admin consent grants, so a scope the
/// spec does not consent is not asked for and cannot fail with AADSTS65001), OpenID Connect scopes
/// first; else, when the spec leaves API permissions unmanaged or names none for Microsoft Graph,
/// Passport's own scopes.
pub fn signin_scopes(desired: &Desired, overrides: &[String]) -> SignInScopes {
    let dedup = |items: Vec<String>| {
        let mut out: Vec<String> = Vec::new();
        for s in items {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&s)) {
                out.push(s);
            }
        }
        out
    };
    let given: Vec<String> = overrides
        .iter()
        .flat_map(|s| s.split_whitespace())
        .map(str::to_string)
        .collect();
    if !given.is_empty() {
        return SignInScopes {
            scopes: dedup(given),
            source: "--scope",
        };
    }
    let graph = ResourceRef::AppId(MICROSOFT_GRAPH_APP_ID.to_string());
    let delegated: Vec<String> = desired
        .app
        .api_permissions
        .iter()
        .flatten()
        .filter(|p| p.resource == graph)
        .flat_map(|p| p.delegated.iter().cloned())
        .collect();
    if delegated.is_empty() {
        return SignInScopes {
            scopes: PASSPORT_SCOPES.iter().map(|s| s.to_string()).collect(),
            source: "Kandji Passport's default scopes: the spec names no Microsoft Graph delegated permissions",
        };
    }
    let rank = |s: &String| {
        OIDC_SCOPES
            .iter()
            .position(|o| o.eq_ignore_ascii_case(s))
            .unwrap_or(OIDC_SCOPES.len())
    };
    let mut ordered = dedup(delegated);
    // Stable: OpenID Connect scopes first (in Passport's order), the rest as the spec lists them.
    ordered.sort_by_key(rank);
    SignInScopes {
        scopes: ordered,
        source: "the spec's Microsoft Graph delegated permissions",
    }
}

pub fn run(args: &VerifySigninArgs, g: &GraphArgs) -> Result<Outcome, CommandError> {
    init_logging(g.verbose);
    let (loaded, _) = load_spec(&args.spec)?;
    let desired = Desired::from_spec(&loaded.spec, g.authority_url.as_deref());
    let graph = spec_client(&desired, g)?;
    announce(&desired, &graph);
    let rt = runtime()?;
    let client_id = rt.block_on(async {
        let (observed, _) = fetch(&graph, &desired).await?;
        match identify_app(&desired, &observed).map_err(entractl_engine::EngineError::from)? {
            Some((app, _)) => Ok(app.app_id.clone()),
            None => Err(CommandError::failed(
                format!(
                    "the app `{}` of {} does not exist in tenant {} yet, so there is nothing to sign in to",
                    desired.app.identity.key(),
                    args.spec.display(),
                    desired.tenant
                ),
                format!("run `entractl apply {}` first", args.spec.display()),
            )),
        }
    })?;
    let scopes = signin_scopes(&desired, &args.scopes);
    let password = password(&args.username)?;
    let scope_refs: Vec<&str> = scopes.scopes.iter().map(String::as_str).collect();
    let result = rt.block_on(password_sign_in(
        graph.config(),
        &client_id,
        &args.username,
        &password,
        &scope_refs,
    ));
    match result {
        Ok(ok) => {
            output::stdout(&success_text(
                &args.username,
                &desired,
                &client_id,
                &scopes,
                &ok,
            ))?;
            Ok(Outcome::Success)
        }
        Err(e) => {
            let mut text = failure_text(&args.username, &client_id, &scopes, &e);
            if e.code() == Some(65001) {
                let missing = not_consented(&desired, &scopes);
                if !missing.is_empty() {
                    text.push_str(&format!(
                        "\n  note: {} asked for but not among the spec's Microsoft Graph delegated permissions, so admin consent does not cover it; if Passport on the Macs requests it, add it to `app.apiPermissions.Microsoft Graph.delegated` and run `entractl apply`; otherwise leave it out of --scope",
                        missing
                            .iter()
                            .map(|m| format!("`{m}` is"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            Err(CommandError::plain(text))
        }
    }
}

/// The requested scopes the spec does not declare as Microsoft Graph delegated permissions (so
/// its admin consent does not grant them).
fn not_consented(desired: &Desired, scopes: &SignInScopes) -> Vec<String> {
    let graph = ResourceRef::AppId(MICROSOFT_GRAPH_APP_ID.to_string());
    let declared: Vec<&String> = desired
        .app
        .api_permissions
        .iter()
        .flatten()
        .filter(|p| p.resource == graph)
        .flat_map(|p| p.delegated.iter())
        .collect();
    scopes
        .scopes
        .iter()
        .filter(|s| !declared.iter().any(|d| d.eq_ignore_ascii_case(s)))
        .cloned()
        .collect()
}

/// The password: from the environment, else a no-echo prompt on a terminal.
fn password(username: &str) -> Result<Secret, CommandError> {
    if let Ok(p) = std::env::var(PASSWORD_ENV)
        && !p.is_empty()
    {
        return Ok(Secret::new(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::failed(
            format!(
                "no password for {username}: {PASSWORD_ENV} is not set and stdin is not a terminal to ask on"
            ),
            format!(
                "set {PASSWORD_ENV} (e.g. from your CI's secret store), or run on a terminal to be asked"
            ),
        ));
    }
    eprint!("Password for {username} (not shown): ");
    let _ = std::io::stderr().flush();
    let stty = |arg: &str| {
        Command::new("stty")
            .arg(arg)
            .stdin(Stdio::inherit())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !stty("-echo") {
        return Err(CommandError::failed(
            "cannot turn off echo on this terminal (`stty -echo` failed), so the password is not asked for",
            format!("set {PASSWORD_ENV} instead"),
        ));
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    stty("echo");
    eprintln!();
    read.map_err(|e| CommandError::plain(format!("cannot read the password: {e}")))?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        return Err(CommandError::plain(
            "no password was typed: nothing was sent",
        ));
    }
    Ok(Secret::new(p))
}

fn claim_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(format!(
            "{} group(s): {}",
            a.len(),
            a.iter()
                .map(|x| x
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        other => Some(other.to_string()),
    }
}

fn success_text(
    username: &str,
    desired: &Desired,
    client_id: &str,
    scopes: &SignInScopes,
    ok: &SignInSuccess,
) -> String {
    let c = &ok.id_token_claims;
    let mut out = format!(
        "Sign-in succeeded: {username} signed in to \"{}\" (client id {client_id}) with the password grant, as Kandji Passport does.\nRequested scopes: {} ({})\n\nID token claims Kandji uses:\n",
        desired.app.display_name,
        scopes.scopes.join(" "),
        scopes.source
    );
    let mut hints = Vec::new();
    for (claim, missing) in [
        (
            "preferred_username",
            "not in the ID token: add it with `app.tokens.id.optionalClaims: [preferred_username]` (the kandji-passport preset does)",
        ),
        (
            "groups",
            "not in the ID token: set `app.tokens.groupsClaim` (the preset uses `all`), or the user is in no group",
        ),
        ("name", "not in the ID token (needs the `profile` scope)"),
        ("oid", "not in the ID token"),
    ] {
        match claim_text(c.get(claim)) {
            Some(v) => out.push_str(&format!("  {claim:<20}{v}\n")),
            None => {
                out.push_str(&format!("  {claim:<20}(none)\n"));
                hints.push(format!("{claim}: {missing}"));
            }
        }
    }
    if c.get("_claim_names").is_some() {
        hints.push("groups: the user is in more than 200 groups, so Entra sent an overage claim instead of the list; use `app.tokens.groupsClaim: application-groups`".to_string());
    }
    if !ok.granted_scopes.is_empty() {
        out.push_str(&format!(
            "\nGranted scopes: {}\n",
            ok.granted_scopes.join(" ")
        ));
    }
    if !hints.is_empty() {
        out.push_str("\nNotes:\n");
        for h in hints {
            out.push_str(&format!("  - {h}\n"));
        }
    }
    out
}

fn failure_text(username: &str, client_id: &str, scopes: &SignInScopes, e: &SignInError) -> String {
    let SignInError::Refused {
        error, description, ..
    } = e
    else {
        return format!("the password sign-in of {username} could not be tried: {e}");
    };
    let Some(code) = e.code() else {
        return format!(
            "the password sign-in of {username} (client id {client_id}) was refused with `{error}` and no AADSTS code: {description}"
        );
    };
    let mut out = format!(
        "the password sign-in of {username} (client id {client_id}, scopes {} from {}) failed with AADSTS{code} ({error})\n",
        scopes.scopes.join(" "),
        scopes.source
    );
    match aadsts::lookup(code) {
        Some(entry) => {
            out.push_str(&format!(
                "  {}: {}\n  cause: {}\n  fix in the spec: {}\n  fix in the Entra admin center: {}\n",
                entry.label(),
                entry.name,
                entry.meaning,
                entry.fix_entractl,
                entry.fix_portal
            ));
        }
        None => {
            out.push_str(&format!("  Entra says: {description}\n"));
        }
    }
    out.push_str(&format!(
        "  more: `entractl explain {code}`, {}",
        aadsts::lookup_url(code)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(yaml: &str) -> Desired {
        let loaded = entractl_spec::parse_str("spec.yaml", yaml).expect("valid spec");
        Desired::from_spec(&loaded.spec, None)
    }

    const PRESET: &str = "version: 1\ntenant: contoso.onmicrosoft.com\npreset: kandji-passport\npassport: {mode: mac-login}\napp:\n  displayName: Kandji Passport\n  uniqueName: kandji-passport\n";

    #[test]
    fn the_preset_asks_for_exactly_what_it_consents() {
        let s = signin_scopes(&desired(PRESET), &[]);
        assert_eq!(s.scopes, ["openid", "profile", "email", "User.Read"]);
        assert_eq!(s.source, "the spec's Microsoft Graph delegated permissions");
        assert!(not_consented(&desired(PRESET), &s).is_empty());
    }

    #[test]
    fn offline_access_is_asked_for_when_the_spec_declares_it() {
        let d = desired(&format!(
            "{PRESET}  apiPermissions:\n    Microsoft Graph:\n      delegated: [User.Read, offline_access, email, openid, profile]\n"
        ));
        assert_eq!(
            signin_scopes(&d, &[]).scopes,
            ["openid", "profile", "email", "offline_access", "User.Read"]
        );
    }

    #[test]
    fn scope_flags_override_the_spec_and_may_hold_several() {
        let d = desired(PRESET);
        let s = signin_scopes(
            &d,
            &[
                "openid profile".into(),
                "offline_access".into(),
                "openid".into(),
            ],
        );
        assert_eq!(s.scopes, ["openid", "profile", "offline_access"]);
        assert_eq!(s.source, "--scope");
        assert_eq!(not_consented(&d, &s), ["offline_access"]);
    }

    #[test]
    fn other_resources_are_not_asked_for_and_no_graph_permissions_means_passports_scopes() {
        let d = desired(
            "version: 1\ntenant: contoso.onmicrosoft.com\napp:\n  displayName: X\n  uniqueName: x\n  apiPermissions:\n    Office 365 Exchange Online:\n      delegated: [EWS.AccessAsUser.All]\n",
        );
        let s = signin_scopes(&d, &[]);
        assert_eq!(s.scopes, PASSPORT_SCOPES);
        assert!(
            s.source
                .contains("no Microsoft Graph delegated permissions")
        );
        let unmanaged = desired(
            "version: 1\ntenant: contoso.onmicrosoft.com\napp:\n  displayName: X\n  uniqueName: x\n",
        );
        assert_eq!(signin_scopes(&unmanaged, &[]).scopes, PASSPORT_SCOPES);
    }
}
