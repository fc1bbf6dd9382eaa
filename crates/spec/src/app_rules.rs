//! The checks of an app's redirect URIs (per platform) and optional claims (per token type).

use crate::checker::Checker;
use crate::claims::{TokenType, additional_properties};
use crate::raw::{RawClaim, RawTokenClaims};
use crate::report::ErrorKind;
use crate::suggest::did_you_mean;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    Web,
    PublicClient,
    Spa,
}

pub(crate) fn check_redirect_uri(c: &mut Checker, path: &str, uri: &str, platform: Platform) {
    if !c.not_blank(path, uri, "redirect URI") {
        return;
    }
    let bad = |c: &mut Checker, message: String, label: &str, help: &str| {
        c.push(
            ErrorKind::InvalidValue,
            path,
            message,
            label,
            help.to_string(),
        );
    };
    if uri.len() > 256 {
        bad(
            c,
            format!("the redirect URI is {} characters long", uri.len()),
            "too long",
            "Entra accepts redirect URIs of at most 256 characters",
        );
        return;
    }
    if uri.contains('*') {
        bad(
            c,
            format!("`{uri}` contains a wildcard"),
            "wildcard",
            "Entra does not accept wildcards in redirect URIs here; list each URI",
        );
        return;
    }
    let parsed = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(_) => {
            bad(
                c,
                format!("`{uri}` is not an absolute URI"),
                "not an absolute URI",
                "a redirect URI starts with a scheme and a host, e.g. `https://app.contoso.com/callback` or `http://localhost`",
            );
            return;
        }
    };
    if parsed.fragment().is_some() {
        bad(
            c,
            format!("`{uri}` has a fragment (`#…`)"),
            "fragment",
            "Entra rejects redirect URIs with a fragment; remove the `#…` part",
        );
        return;
    }
    let host = parsed.host_str().unwrap_or("");
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    match parsed.scheme() {
        "https" if host.is_empty() => bad(
            c,
            format!("`{uri}` has no host"),
            "no host",
            "write the URI with a host, e.g. `https://app.contoso.com/callback`",
        ),
        "https" => {}
        "http" if loopback => {}
        "http" => bad(
            c,
            format!("`{uri}` uses `http` for a host other than localhost"),
            "http is only for localhost",
            "Entra accepts `http` only for `localhost` (and 127.0.0.1); use `https://`",
        ),
        _ if platform == Platform::PublicClient => {}
        scheme => bad(
            c,
            format!("`{uri}` uses the scheme `{scheme}`"),
            "https or http://localhost only",
            "web and single-page-app redirect URIs must be `https://…` or `http://localhost…`; custom schemes belong under `publicClient`",
        ),
    }
}

pub(crate) fn check_claims(c: &mut Checker, claims: &RawTokenClaims, tt: TokenType) {
    let base = format!("app.tokens.{}.optionalClaims", tt.key());
    let known = tt.claims();
    let mut names = Vec::new();
    for (i, claim) in claims.optional_claims.iter().enumerate() {
        let (name, name_path, source, props) = match claim {
            RawClaim::Name(n) => (n.as_str(), format!("{base}[{i}]"), None, None),
            RawClaim::Detailed(d) => (
                d.name.as_str(),
                format!("{base}[{i}].name"),
                d.source.as_deref(),
                d.additional_properties.as_deref(),
            ),
        };
        names.push(name.to_string());
        if !c.not_blank(&name_path, name, "claim name") {
            continue;
        }
        match source {
            Some("user") => {}
            Some(other) => {
                c.push(
                    ErrorKind::UnknownValue,
                    &format!("{base}[{i}].source"),
                    format!("unknown claim source `{other}`"),
                    "unknown source",
                    "`source` is `user` for a directory extension attribute; leave it out for a predefined claim".to_string(),
                );
                continue;
            }
            None if !known.contains(&name) => {
                let message = match did_you_mean(name, known.iter().copied()) {
                    Some(m) => format!(
                        "`{name}` is not an optional claim of the {}, did you mean `{m}`?",
                        tt.title()
                    ),
                    None => format!("`{name}` is not an optional claim of the {}", tt.title()),
                };
                c.push(
                    ErrorKind::UnknownValue,
                    &name_path,
                    message,
                    "unknown claim",
                    format!(
                        "the {} takes {}; a directory extension needs `source: user`",
                        tt.title(),
                        known.join(", ")
                    ),
                );
                continue;
            }
            None => {}
        }
        if let Some(props) = props {
            let allowed = additional_properties(name);
            for (j, p) in props.iter().enumerate() {
                if source.is_none() && !allowed.contains(&p.as_str()) {
                    let help = if allowed.is_empty() {
                        format!("`{name}` takes no additional properties; remove them")
                    } else {
                        format!("`{name}` takes {}", allowed.join(", "))
                    };
                    c.push(
                        ErrorKind::UnknownValue,
                        &format!("{base}[{i}].additionalProperties[{j}]"),
                        format!("`{p}` is not an additional property of `{name}`"),
                        "unknown property",
                        help,
                    );
                }
            }
        }
    }
    c.duplicates(&base, &names, "optional claim");
}
