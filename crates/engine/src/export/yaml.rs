//! Writes an [`ExportModel`] as a spec file: block style, one value per line, comments above
//! the value they explain; with the preset, only the values that differ from it.

use std::collections::BTreeSet;

use entractl_spec::{App, OptionalClaim, PassportMode, Spec};

use super::model::{CaExport, ExportModel, set_ci};
use super::preset::{self, PresetValues, mode_reason, title};
use super::types::ExportOptions;

/// A YAML scalar: plain when that reads back as the same string, else double-quoted.
pub fn scalar(s: &str) -> String {
    let plain_chars = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.@/:+-= ".contains(c));
    let first_ok = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let lower = s.to_ascii_lowercase();
    let special = [
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    ]
    .contains(&lower.as_str())
        || s.parse::<f64>().is_ok()
        || s.starts_with("0x")
        || s.starts_with("0o");
    if plain_chars
        && first_ok
        && !special
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.ends_with(' ')
    {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
    }
}

struct Writer<'a> {
    out: String,
    model: &'a ExportModel,
    used: BTreeSet<String>,
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

impl Writer<'_> {
    fn comments(&mut self, path: &str, indent: usize) {
        let Some(cs) = self.model.comments.get(path) else {
            return;
        };
        self.used.insert(path.to_string());
        let pad = " ".repeat(indent);
        for c in cs {
            for l in wrap(c, 96usize.saturating_sub(indent)) {
                self.out.push_str(&format!("{pad}# {l}\n"));
            }
        }
    }

    fn key(&mut self, path: &str, indent: usize, key: &str, value: Option<&str>) {
        self.comments(path, indent);
        let pad = " ".repeat(indent);
        match value {
            Some(v) => self.out.push_str(&format!("{pad}{key}: {v}\n")),
            None => self.out.push_str(&format!("{pad}{key}:\n")),
        }
    }

    /// A comment of the writer's own (not one of the model's).
    fn note(&mut self, indent: usize, text: &str) {
        let pad = " ".repeat(indent);
        for l in wrap(text, 96usize.saturating_sub(indent)) {
            self.out.push_str(&format!("{pad}# {l}\n"));
        }
    }

    fn list(&mut self, path: &str, indent: usize, key: &str, items: &[String]) {
        if items.is_empty() {
            self.key(path, indent, key, Some("[]"));
            return;
        }
        self.key(path, indent, key, None);
        let pad = " ".repeat(indent + 2);
        for (i, item) in items.iter().enumerate() {
            self.comments(&format!("{path}[{i}]"), indent + 2);
            self.out.push_str(&format!("{pad}- {}\n", scalar(item)));
        }
    }

    fn claims(&mut self, path: &str, indent: usize, key: &str, claims: &[OptionalClaim]) {
        self.key(path, indent, key, None);
        if claims.is_empty() {
            self.key(
                &format!("{path}.optionalClaims"),
                indent + 2,
                "optionalClaims",
                Some("[]"),
            );
            return;
        }
        self.key(
            &format!("{path}.optionalClaims"),
            indent + 2,
            "optionalClaims",
            None,
        );
        let pad = " ".repeat(indent + 4);
        for c in claims {
            if !c.essential && c.source.is_none() && c.additional_properties.is_empty() {
                self.out.push_str(&format!("{pad}- {}\n", scalar(&c.name)));
                continue;
            }
            self.out
                .push_str(&format!("{pad}- name: {}\n", scalar(&c.name)));
            if c.essential {
                self.out.push_str(&format!("{pad}  essential: true\n"));
            }
            if let Some(s) = &c.source {
                self.out
                    .push_str(&format!("{pad}  source: {}\n", scalar(s)));
            }
            if !c.additional_properties.is_empty() {
                self.out.push_str(&format!(
                    "{pad}  additionalProperties: [{}]\n",
                    c.additional_properties
                        .iter()
                        .map(|p| scalar(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
}

fn claims_equal(a: &[OptionalClaim], b: &[OptionalClaim]) -> bool {
    let key = |c: &OptionalClaim| {
        (
            c.name.to_lowercase(),
            c.essential,
            c.source.clone().map(|s| s.to_lowercase()),
            set_ci(&c.additional_properties),
        )
    };
    let a: BTreeSet<_> = a.iter().map(key).collect();
    let b: BTreeSet<_> = b.iter().map(key).collect();
    a == b
}

/// `true`/`false` as YAML.
fn flag(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The spec file for `m`.
pub fn write(m: &ExportModel, opts: &ExportOptions) -> String {
    let preset = if m.preset {
        PresetValues::kandji(m.mode)
    } else {
        None
    };
    let p = preset.as_ref().map(|p| &p.spec);
    let mut w = Writer {
        out: String::new(),
        model: m,
        used: BTreeSet::new(),
    };
    w.top(p);
    w.app(p.map(|p| &p.app));
    w.assignments(p);
    w.mfa(p);
    let mut head = header(m, opts, &w.used);
    head.push_str(&w.out);
    head
}

/// The values of a spec `Writer` writes, in the file's order; `p`/`pa` is the preset's spec
/// (or app) when the export uses it: then only the values that differ from it are written.
impl Writer<'_> {
    fn top(&mut self, p: Option<&Spec>) {
        let m = self.model;
        self.key("version", 0, "version", Some("1"));
        self.key("tenant", 0, "tenant", Some(&scalar(&m.tenant)));
        if m.cloud != "public" {
            self.key("cloud", 0, "cloud", Some(&scalar(&m.cloud)));
        }
        if p.is_some() {
            self.key("preset", 0, "preset", Some("kandji-passport"));
        }
        // The mode: the preset needs it; a spec that weakens MFA says it is Mac Login's.
        if p.is_some() || m.mode == PassportMode::MacLogin {
            self.key("passport", 0, "passport", None);
            self.note(2, mode_reason(m.mode));
            self.key("passport.mode", 2, "mode", Some(m.mode.name()));
        }
    }

    fn app(&mut self, pa: Option<&App>) {
        let m = self.model;
        self.key("app", 0, "app", None);
        self.key(
            "app.displayName",
            2,
            "displayName",
            Some(&scalar(&m.display_name)),
        );
        if let Some(u) = &m.unique_name {
            self.key("app.uniqueName", 2, "uniqueName", Some(&scalar(u)));
        }
        self.key("app.appId", 2, "appId", Some(&m.app_id));
        if pa.is_none_or(|a| a.audience != Some(m.audience)) {
            self.key("app.audience", 2, "audience", Some(m.audience.name()));
        }
        if pa.is_none_or(|a| a.public_client_flows != Some(m.public_client_flows)) {
            self.key(
                "app.publicClientFlows",
                2,
                "publicClientFlows",
                Some(flag(m.public_client_flows)),
            );
        }
        self.redirect_uris(pa);
        self.tokens(pa);
        self.api_permissions(pa);
        if let Some(c) = m.admin_consent
            && pa.is_none_or(|a| a.admin_consent != Some(c))
        {
            self.key("app.adminConsent", 2, "adminConsent", Some(flag(c)));
        }
    }

    /// With the preset, each platform whose list differs from the preset's; without, the web
    /// list and the platforms that have redirect URIs.
    fn redirect_uris(&mut self, pa: Option<&App>) {
        let m = self.model;
        let platforms: Vec<&str> = ["web", "publicClient", "spa"]
            .into_iter()
            .filter(|pl| {
                let mine = m.redirect_uris(pl);
                match pa {
                    Some(a) => set_ci(&preset::redirect_uris(a, pl)) != set_ci(mine),
                    None => *pl == "web" || !mine.is_empty(),
                }
            })
            .collect();
        if platforms.is_empty() {
            return;
        }
        self.key("app.redirectUris", 2, "redirectUris", None);
        for pl in platforms {
            let uris = m.redirect_uris(pl).to_vec();
            self.list(&format!("app.redirectUris.{pl}"), 4, pl, &uris);
        }
    }

    fn tokens(&mut self, pa: Option<&App>) {
        let m = self.model;
        let id = match pa.and_then(|a| a.tokens.id.as_deref()) {
            Some(pid) => !claims_equal(pid, &m.id_claims),
            None => !m.id_claims.is_empty(),
        };
        let access = !m.access_claims.is_empty();
        let saml2 = !m.saml2_claims.is_empty();
        let groups = pa.is_none_or(|a| a.tokens.groups_claim != Some(m.groups_claim));
        if !(id || access || saml2 || groups) {
            return;
        }
        self.key("app.tokens", 2, "tokens", None);
        if id {
            self.claims("app.tokens.id", 4, "id", &m.id_claims);
        }
        if access {
            self.claims("app.tokens.access", 4, "access", &m.access_claims);
        }
        if saml2 {
            self.claims("app.tokens.saml2", 4, "saml2", &m.saml2_claims);
        }
        if groups {
            self.key(
                "app.tokens.groupsClaim",
                4,
                "groupsClaim",
                Some(m.groups_claim.name()),
            );
        }
    }

    fn api_permissions(&mut self, pa: Option<&App>) {
        let m = self.model;
        let Some(perms) = &m.api_permissions else {
            return;
        };
        if pa.is_some_and(|a| m.perms_equal(a.api_permissions.as_deref().unwrap_or_default())) {
            return;
        }
        if perms.is_empty() {
            self.key("app.apiPermissions", 2, "apiPermissions", Some("{}"));
            return;
        }
        self.key("app.apiPermissions", 2, "apiPermissions", None);
        for api in perms {
            self.key("", 4, &scalar(&api.label), None);
            if !api.delegated.is_empty() {
                self.list("", 6, "delegated", &api.delegated);
            }
            if !api.application.is_empty() {
                self.list("", 6, "application", &api.application);
            }
        }
    }

    fn assignments(&mut self, p: Option<&Spec>) {
        let m = self.model;
        let Some(a) = &m.assignments else {
            return;
        };
        let pr = p
            .and_then(|p| p.assignments.as_ref())
            .and_then(|x| x.required);
        let required = p.is_none() || pr != Some(a.required);
        let any = required || !a.users.is_empty() || !a.groups.is_empty() || a.role.is_some();
        if !any {
            return;
        }
        self.key("assignments", 0, "assignments", None);
        if required {
            self.key(
                "assignments.required",
                2,
                "required",
                Some(flag(a.required)),
            );
        }
        if !a.users.is_empty() {
            self.list("assignments.users", 2, "users", &a.users);
        }
        if !a.groups.is_empty() {
            self.list("assignments.groups", 2, "groups", &a.groups);
        }
        if let Some(r) = &a.role {
            self.key("assignments.role", 2, "role", Some(&scalar(r)));
        }
    }

    fn mfa(&mut self, p: Option<&Spec>) {
        let m = self.model;
        let sd = match m.security_defaults {
            Some(true) => "enabled",
            Some(false) => "disabled",
            None => "unmanaged",
        };
        let per_user = if m.per_user_mfa {
            "disabled-for-app-users"
        } else {
            "unmanaged"
        };
        // What differs from the preset's MFA values (none without a preset, or in Web Login).
        let (p_sd, p_pu, p_ca) = p
            .map(preset::mfa)
            .unwrap_or((None, false, CaExport::Unmanaged));
        let (sd_w, pu_w, ca_w) = (
            m.security_defaults != p_sd,
            m.per_user_mfa != p_pu,
            m.conditional_access != p_ca,
        );
        if !(sd_w || pu_w || ca_w) {
            return;
        }
        self.key("mfa", 0, "mfa", None);
        if sd_w {
            self.key("mfa.securityDefaults", 2, "securityDefaults", Some(sd));
        }
        if pu_w {
            self.key("mfa.perUserMfa", 2, "perUserMfa", Some(per_user));
        }
        if ca_w {
            self.key("mfa.conditionalAccess", 2, "conditionalAccess", None);
            match &m.conditional_access {
                CaExport::Unmanaged => self.key("", 4, "excludeApp", Some("unmanaged")),
                CaExport::FromPoliciesRequiringMfa => {
                    self.key("", 4, "excludeApp", Some("from-policies-requiring-mfa"))
                }
                CaExport::Policies(names) => self.list("", 4, "excludeApp", names),
            }
        }
    }
}

/// The file's header: the schema modeline, what was exported, and the comments of values that
/// were not written (`used` holds the paths whose comments were; the preset has the others).
fn header(m: &ExportModel, opts: &ExportOptions, used: &BTreeSet<String>) -> String {
    let mut head = format!("# yaml-language-server: $schema={}\n#\n", opts.schema_ref);
    let mut intro = format!(
        "Exported by `entractl export` from tenant {}: app \"{}\" (client id {}).",
        m.tenant, m.display_name, m.app_id
    );
    if !m.managed {
        intro.push_str(
            " The app is pinned by `appId`: the first apply adopts it instead of creating one (it tags the application and its service principal `entractl:<key>`); its client id never changes.",
        );
    }
    if m.preset {
        intro.push_str(&format!(
            " `preset: kandji-passport` stands for the values of Kandji's procedure for {} (`passport.mode`); only the values that differ from it are written below.",
            title(m.mode)
        ));
    }
    for l in wrap(&intro, 96) {
        head.push_str(&format!("# {l}\n"));
    }
    let leftover: Vec<(&String, &Vec<String>)> = m
        .comments
        .iter()
        .filter(|(k, _)| !used.contains(*k))
        .collect();
    if leftover.is_empty() {
        return head;
    }
    head.push_str("#\n# Notes:\n");
    for (k, cs) in leftover {
        for c in cs {
            let text = if k == "header" {
                c.clone()
            } else {
                format!("{k}: {c}")
            };
            for (i, l) in wrap(&text, 92).into_iter().enumerate() {
                let lead = if i == 0 { "- " } else { "  " };
                head.push_str(&format!("#   {lead}{l}\n"));
            }
        }
    }
    head
}
