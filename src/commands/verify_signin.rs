//! `entractl verify-signin SPEC --username UPN`: the password sign-in Kandji Passport performs,
//! against the tenant, with the managed app's client id and Passport's scopes. Success prints the
//! ID token claims Kandji uses; failure explains the AADSTS code (cause and fix) and exits 1.
//!
//! The password comes from `ENTRACTL_SIGNIN_PASSWORD` or a prompt on a terminal with echo off
//! (`stty -echo`); it is never printed or logged, and the tokens are never printed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use clap::Args;
use entractl_engine::aadsts;
use entractl_engine::diff::identify_app;
use entractl_engine::{Desired, fetch};
use entractl_graph::Secret;
use entractl_graph::signin::{PASSPORT_SCOPES, SignInError, SignInSuccess, password_sign_in};
use serde_json::Value;

use super::plan::{GraphArgs, announce, client, fail, init_logging, load_spec, runtime};
use crate::error::{CliError, Outcome};
use crate::output;

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
}

pub fn run(args: &VerifySigninArgs, g: &GraphArgs) -> Result<Outcome, CliError> {
    init_logging(g.verbose);
    let (loaded, _) = load_spec(&args.spec)?;
    let desired = Desired::from_spec(&loaded.spec, g.authority_url.as_deref());
    let graph = client(&desired.tenant, &desired.cloud, g)?;
    announce(&desired, &graph);
    let rt = runtime()?;
    let client_id = rt.block_on(async {
        let (observed, _) = fetch(&graph, &desired).await.map_err(fail)?;
        match identify_app(&desired, &observed).map_err(fail)? {
            Some((app, _)) => Ok(app.app_id.clone()),
            None => Err(fail(format!(
                "the app `{}` of {} does not exist in tenant {} yet, so there is nothing to sign in to\n  hint: run `entractl apply {}` first",
                desired.app.identity.key(),
                args.spec.display(),
                desired.tenant,
                args.spec.display()
            ))),
        }
    })?;
    let password = password(&args.username)?;
    let result = rt.block_on(password_sign_in(
        graph.config(),
        &client_id,
        &args.username,
        &password,
        PASSPORT_SCOPES,
    ));
    match result {
        Ok(ok) => {
            output::stdout(&success_text(&args.username, &desired, &client_id, &ok))?;
            Ok(Outcome::Success)
        }
        Err(e) => Err(fail(failure_text(&args.username, &client_id, &e))),
    }
}

/// The password: from the environment, else a no-echo prompt on a terminal.
fn password(username: &str) -> Result<Secret, CliError> {
    if let Ok(p) = std::env::var(PASSWORD_ENV)
        && !p.is_empty()
    {
        return Ok(Secret::new(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(fail(format!(
            "no password for {username}: {PASSWORD_ENV} is not set and stdin is not a terminal to ask on\n  hint: set {PASSWORD_ENV} (e.g. from your CI's secret store), or run on a terminal to be asked"
        )));
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
        return Err(fail(format!(
            "cannot turn off echo on this terminal (`stty -echo` failed), so the password is not asked for\n  hint: set {PASSWORD_ENV} instead"
        )));
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    stty("echo");
    eprintln!();
    read.map_err(|e| fail(format!("cannot read the password: {e}")))?;
    let p = line.trim_end_matches(['\r', '\n']).to_string();
    if p.is_empty() {
        return Err(fail("no password was typed: nothing was sent"));
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

fn success_text(username: &str, desired: &Desired, client_id: &str, ok: &SignInSuccess) -> String {
    let c = &ok.id_token_claims;
    let mut out = format!(
        "Sign-in succeeded: {username} signed in to \"{}\" (client id {client_id}) with the password grant, as Kandji Passport does.\n\nID token claims Kandji uses:\n",
        desired.app.display_name
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

fn failure_text(username: &str, client_id: &str, e: &SignInError) -> String {
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
        "the password sign-in of {username} (client id {client_id}, scopes {}) failed with AADSTS{code} ({error})\n",
        PASSPORT_SCOPES.join(" ")
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
