//! How errors read on the command line: the library's message, then the hints that name this
//! binary's flags and files (libraries never name a flag). The one mapping from typed library
//! errors to what the user reads; when the engine's error types change, this is what to re-point.

use entractl_engine::EngineError;
use entractl_engine::error::{StopCause, Stopped};
use entractl_graph::{AuthError, GraphError, GraphErrorKind};

use crate::error::CommandError;

/// The full text printed for an error: `error: …` and its hints, ending in a newline.
pub fn describe(e: &CommandError) -> String {
    let mut text = format!("error: {e}");
    for hint in hints(e) {
        text.push_str(&format!("\n  hint: {hint}"));
    }
    text.push('\n');
    text
}

fn hints(e: &CommandError) -> Vec<String> {
    match e {
        CommandError::Failed { hint, .. } => hint.iter().cloned().collect(),
        CommandError::Url { flag, .. } => vec![format!(
            "give {flag} an absolute https URL (plain http only to a loopback address such as a local graph-emulator)"
        )],
        CommandError::MissingPermissions(m) => vec![
            if m.missing.app_only {
                let app = m
                    .missing
                    .client_id
                    .as_deref()
                    .unwrap_or("entractl's application");
                format!(
                    "grant them: Entra admin center → App registrations → {app} → API permissions → Add a permission → Microsoft Graph → Application permissions, then \"Grant admin consent\"; the next run's token carries them"
                )
            } else {
                "consent to these scopes for the client (admin consent) and sign in again, as a user whose directory roles allow the changes".into()
            },
            "`entractl permissions SPEC` lists everything this spec needs".into(),
        ],
        CommandError::Engine(EngineError::Stopped(s)) => stopped_hints(s, "apply"),
        CommandError::Stopped { command, stopped } => stopped_hints(stopped, command),
        CommandError::Engine(EngineError::Journal { .. }) => {
            vec!["choose a writable directory with `--journal-dir DIR`".into()]
        }
        CommandError::Interrupted {
            command,
            stopped: Some(s),
            ..
        } => stopped_hints(s, command),
        CommandError::Auth(a) => auth_hints(a),
        _ => graph_hints(e),
    }
}

/// What to do after `command` stopped part way.
fn stopped_hints(s: &Stopped, command: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let StopCause::Failed(cause) = &s.cause {
        if let EngineError::Journal { .. } = cause.as_ref() {
            out.push("choose a writable directory with `--journal-dir DIR`".into());
        }
        out.extend(chain_graph_hints(cause.as_ref()));
    }
    out.push(match (&s.cause, s.made.is_empty()) {
        (StopCause::Interrupted, _) => format!(
            "run `entractl {command}` again to continue: it plans from the tenant as it is now, so nothing is made twice"
        ),
        (StopCause::Failed(_), true) => format!("fix the cause and run `entractl {command}` again"),
        (StopCause::Failed(_), false) => format!(
            "fix the cause and run `entractl {command}` again: it plans from the tenant as it is now and continues"
        ),
    });
    out
}

/// The hint for a run that spent its `--timeout` (a Graph request or the token request).
const TIMEOUT_HINT: &str = "raise `--timeout` (or `ENTRACTL_TIMEOUT`), or run again later";

/// Hints for a credential error: each names the flag or variable that sets what failed.
fn auth_hints(a: &AuthError) -> Vec<String> {
    match a {
        AuthError::Transport { .. } => vec![
            "check the network and the identity platform URL (`--authority-url` / `AZURE_AUTHORITY_HOST`, default: the spec's `cloud:`)".into(),
        ],
        AuthError::Deadline { .. } => {
            vec![TIMEOUT_HINT.into()]
        }
        AuthError::Certificate { .. } => vec![
            "check AZURE_CLIENT_CERTIFICATE_PATH (a PEM file holding the private key and the certificate)".into(),
        ],
        AuthError::Rejected { codes, .. }
            if codes.iter().any(|c| c == "AADSTS7000215" || c == "AADSTS7000222") =>
        {
            vec!["put the new client secret in AZURE_CLIENT_SECRET".into()]
        }
        AuthError::Rejected { codes, .. }
            if codes.iter().any(|c| c == "AADSTS90002" || c == "AADSTS900023") =>
        {
            vec!["check `tenant:` and `cloud:` in the spec: entractl signs in to the spec's tenant".into()]
        }
        _ => Vec::new(),
    }
}

/// The first Graph error in an error's chain.
fn graph_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a GraphError> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(g) = err.downcast_ref::<GraphError>() {
            return Some(g);
        }
        cur = err.source();
    }
    None
}

fn graph_hints(e: &CommandError) -> Vec<String> {
    chain_graph_hints(e)
}

fn chain_graph_hints(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let Some(g) = graph_error(e) else {
        return Vec::new();
    };
    match (g.kind, g.status) {
        (GraphErrorKind::Transport, _) => vec![
            "check the network, a proxy, and the Graph URL (`--graph-url` / `ENTRACTL_GRAPH_URL`, default: the spec's `cloud:`)".into(),
        ],
        (GraphErrorKind::Budget, _) if g.message.contains("overall time budget") => {
            vec![TIMEOUT_HINT.into()]
        }
        (GraphErrorKind::Budget, Some(429)) | (GraphErrorKind::Graph, Some(429)) => {
            vec!["Graph kept throttling: run again later".into()]
        }
        (GraphErrorKind::Graph | GraphErrorKind::Budget, Some(401)) => vec![
            "check `tenant:` and `cloud:` in the spec, and that the credential is still valid".into(),
        ],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interrupt::Signal;

    #[test]
    fn an_interrupted_apply_lists_what_was_and_was_not_made() {
        let s = Stopped {
            cause: StopCause::Interrupted,
            made: vec!["create application \"A\"".into()],
            not_made: vec!["create servicePrincipal \"A\"".into()],
            journal: Some("j/20261201T000000.000Z".into()),
        };
        let e = CommandError::Interrupted {
            signal: Signal::Terminate,
            command: "apply",
            stopped: Some(Box::new(s)),
        };
        assert_eq!(
            describe(&e),
            "error: SIGTERM: apply stopped: 1 change(s) made, 1 not made\n  made:\n    - create application \"A\"\n  not made:\n    - create servicePrincipal \"A\"\n  the journal j/20261201T000000.000Z holds the prior state of every object changed\n  hint: run `entractl apply` again to continue: it plans from the tenant as it is now, so nothing is made twice\n"
        );
        let e = CommandError::Interrupted {
            signal: Signal::Interrupt,
            command: "plan",
            stopped: None,
        };
        assert_eq!(
            describe(&e),
            "error: SIGINT: stopped; nothing was changed in the tenant\n"
        );
    }

    #[test]
    fn a_failed_destroy_hints_destroy_again() {
        let s = |made: Vec<String>| Stopped {
            cause: StopCause::Failed(Box::new(EngineError::Internal("x".into()))),
            made,
            not_made: vec!["delete application \"A\"".into()],
            journal: None,
        };
        let hint = |made: Vec<String>, command| {
            let e = CommandError::Stopped {
                command,
                stopped: Box::new(s(made)),
            };
            hints(&e).pop().unwrap()
        };
        assert_eq!(
            hint(vec![], "destroy"),
            "fix the cause and run `entractl destroy` again"
        );
        assert_eq!(
            hint(vec!["delete servicePrincipal \"A\"".into()], "destroy"),
            "fix the cause and run `entractl destroy` again: it plans from the tenant as it is now and continues"
        );
        assert_eq!(
            hint(vec![], "apply"),
            "fix the cause and run `entractl apply` again"
        );
    }
}
