//! The library API: expansion, locations, helpers, plain rendering.

use entractl_spec::*;

const PASSPORT: &str = "\
version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
passport: {mode: mac-login}
app:
  displayName: Kandji Passport
  uniqueName: kandji-passport
  apiPermissions:
    Microsoft Graph:
      delegated: [openid, email, profile, User.Read]
assignments:
  users: [alice@contoso.com, bob@contoso.com, carol@contoso.com]
  groups: [Mac Users]
";

fn uris(u: &[&str]) -> Option<Vec<String>> {
    Some(u.iter().map(|s| s.to_string()).collect())
}

#[test]
fn mac_login_fills_in_the_seed_procedure() {
    let spec = parse_str("p.yaml", PASSPORT).unwrap().spec;
    assert_eq!(spec.cloud, Cloud::Public);
    assert_eq!(spec.preset, Some(Preset::KandjiPassport));
    assert_eq!(
        spec.passport,
        Some(Passport {
            mode: PassportMode::MacLogin
        })
    );
    let app = &spec.app;
    assert_eq!(app.audience, Some(Audience::SingleTenant));
    assert_eq!(app.public_client_flows, Some(true));
    // Every platform's list is managed, empty where unused.
    assert_eq!(app.redirect_uris.web, uris(&["http://localhost"]));
    assert_eq!(app.redirect_uris.public_client, uris(&[]));
    assert_eq!(app.redirect_uris.spa, uris(&[]));
    assert_eq!(
        app.tokens.id,
        Some(vec![OptionalClaim::named("preferred_username")])
    );
    assert_eq!(app.tokens.access, None);
    assert_eq!(app.tokens.groups_claim, Some(GroupsClaim::All));
    assert_eq!(app.admin_consent, Some(true));
    let perms = app.api_permissions.as_ref().unwrap();
    assert_eq!(perms.len(), 1);
    assert_eq!(perms[0].resource, "Microsoft Graph");
    assert_eq!(
        perms[0].delegated,
        ["openid", "email", "profile", "User.Read"]
    );
    let a = spec.assignments.as_ref().unwrap();
    assert_eq!(a.required, Some(true));
    assert_eq!(a.groups, ["Mac Users"]);
    assert!(!a.prune);
    let mfa = spec.mfa.as_ref().unwrap();
    assert_eq!(mfa.security_defaults, Some(SecurityDefaults::Disabled));
    assert_eq!(mfa.per_user_mfa, Some(PerUserMfa::DisabledForAppUsers));
    assert_eq!(
        mfa.exclude_app,
        Some(PolicySelection::FromPoliciesRequiringMfa)
    );
    assert_eq!(mfa.exclude_users, None);
    assert_eq!(mfa.placeholder, None);
}

#[test]
fn web_login_fills_in_irus_web_login_guide_and_no_mfa() {
    let text = PASSPORT.replace("mode: mac-login", "mode: web-login");
    let spec = parse_str("p.yaml", &text).unwrap().spec;
    assert_eq!(spec.passport.map(|p| p.mode), Some(PassportMode::WebLogin));
    let app = &spec.app;
    assert_eq!(app.audience, Some(Audience::SingleTenant));
    assert_eq!(app.public_client_flows, Some(false));
    assert_eq!(app.redirect_uris.web, uris(&[]));
    assert_eq!(
        app.redirect_uris.public_client,
        uris(&["https://localhost"])
    );
    assert_eq!(app.redirect_uris.spa, uris(&[]));
    assert_eq!(
        app.tokens.id,
        Some(vec![OptionalClaim::named("preferred_username")])
    );
    assert_eq!(app.tokens.groups_claim, Some(GroupsClaim::All));
    assert_eq!(app.admin_consent, Some(true));
    assert_eq!(
        app.api_permissions.as_ref().unwrap()[0].delegated,
        ["openid", "email", "profile", "User.Read"]
    );
    assert_eq!(spec.assignments.unwrap().required, Some(true));
    assert_eq!(spec.mfa, None, "Web Login has no `mfa` section at all");
}

#[test]
fn user_values_override_the_preset() {
    let text = format!(
        "{PASSPORT}mfa:\n  securityDefaults: unmanaged\n  conditionalAccess:\n    excludeApp: [Require MFA]\n"
    )
    .replace("  uniqueName: kandji-passport\n", "  uniqueName: kandji-passport\n  tokens:\n    groupsClaim: security-groups\n  redirectUris:\n    spa: [https://passport.contoso.com/app]\n");
    let spec = parse_str("p.yaml", &text).unwrap().spec;
    assert_eq!(
        spec.app.tokens.groups_claim,
        Some(GroupsClaim::SecurityGroups)
    );
    // A token type the user leaves out keeps the preset's value.
    assert_eq!(
        spec.app.tokens.id,
        Some(vec![OptionalClaim::named("preferred_username")])
    );
    // A platform's list is overridden on its own.
    assert_eq!(
        spec.app.redirect_uris.spa,
        uris(&["https://passport.contoso.com/app"])
    );
    assert_eq!(spec.app.redirect_uris.web, uris(&["http://localhost"]));
    assert_eq!(spec.app.redirect_uris.public_client, uris(&[]));
    let mfa = spec.mfa.unwrap();
    assert_eq!(mfa.security_defaults, None);
    assert_eq!(mfa.per_user_mfa, Some(PerUserMfa::DisabledForAppUsers));
    assert_eq!(
        mfa.exclude_app,
        Some(PolicySelection::Named(vec!["Require MFA".to_string()]))
    );
}

#[test]
fn mac_login_remedies_beside_the_presets_app_exclusion() {
    let text = format!(
        "{PASSPORT}mfa:\n  conditionalAccess:\n    excludeUsers: from-policies-requiring-mfa\n    placeholder:\n      displayName: Baseline scopes placeholder\n      uniqueName: baseline-placeholder\n"
    );
    let mfa = parse_str("p.yaml", &text).unwrap().spec.mfa.unwrap();
    // Field by field: the preset's `excludeApp` stays.
    assert_eq!(
        mfa.exclude_app,
        Some(PolicySelection::FromPoliciesRequiringMfa)
    );
    assert_eq!(
        mfa.exclude_users,
        Some(PolicySelection::FromPoliciesRequiringMfa)
    );
    assert_eq!(
        mfa.placeholder,
        Some(Placeholder {
            display_name: "Baseline scopes placeholder".to_string(),
            unique_name: "baseline-placeholder".to_string(),
            // `excludeFrom` left out: the policies requiring MFA.
            exclude_from: PolicySelection::FromPoliciesRequiringMfa,
        })
    );

    // `excludeApp: []` excludes the app from nothing; named policies for the others.
    let text = format!(
        "{PASSPORT}mfa:\n  conditionalAccess:\n    excludeApp: []\n    excludeUsers: [Require MFA]\n    placeholder:\n      displayName: P\n      uniqueName: p\n      excludeFrom: [CA001]\n"
    );
    let mfa = parse_str("p.yaml", &text).unwrap().spec.mfa.unwrap();
    assert_eq!(mfa.exclude_app, Some(PolicySelection::Named(vec![])));
    assert!(!mfa.exclude_app.as_ref().unwrap().selects_any());
    assert_eq!(
        mfa.exclude_users,
        Some(PolicySelection::Named(vec!["Require MFA".to_string()]))
    );
    assert_eq!(
        mfa.placeholder.unwrap().exclude_from,
        PolicySelection::Named(vec!["CA001".to_string()])
    );
    assert_eq!(
        mfa.security_defaults,
        Some(SecurityDefaults::Disabled),
        "the preset's other values stay"
    );
}

#[test]
fn the_mode_without_a_preset_fills_nothing_in() {
    let text = "version: 1\ntenant: contoso.onmicrosoft.com\npassport: {mode: mac-login}\napp:\n  displayName: X\n  uniqueName: x\n";
    let spec = parse_str("x.yaml", text).unwrap().spec;
    assert_eq!(spec.passport.map(|p| p.mode), Some(PassportMode::MacLogin));
    assert_eq!(spec.app.public_client_flows, None);
    assert_eq!(spec.app.redirect_uris, RedirectUris::default());
    assert_eq!(spec.mfa, None);
}

/// The one error of `text`: its path and its rendering.
fn only_error(text: &str) -> (String, String) {
    let report = parse_str("p.yaml", text).unwrap_err();
    assert_eq!(report.errors().len(), 1, "{}", report.render_plain());
    let path = report.errors()[0].path.clone().unwrap_or_default();
    (path, report.render_plain())
}

#[test]
fn web_login_refuses_every_weakening_by_name() {
    let web = PASSPORT.replace("mode: mac-login", "mode: web-login");
    for (mfa, path) in [
        ("  securityDefaults: disabled\n", "mfa.securityDefaults"),
        ("  perUserMfa: disabled-for-app-users\n", "mfa.perUserMfa"),
        (
            "  conditionalAccess:\n    excludeApp: [CA001]\n",
            "mfa.conditionalAccess.excludeApp",
        ),
        (
            "  conditionalAccess:\n    excludeUsers: from-policies-requiring-mfa\n",
            "mfa.conditionalAccess.excludeUsers",
        ),
        (
            "  conditionalAccess:\n    placeholder: {displayName: P, uniqueName: p}\n",
            "mfa.conditionalAccess.placeholder",
        ),
    ] {
        let (at, out) = only_error(&format!("{web}mfa:\n{mfa}"));
        assert_eq!(at, path, "{out}");
        assert!(
            out.contains(&format!("`{path}`")) && out.contains("`passport.mode` is `web-login`"),
            "{out}"
        );
    }
    // What does not weaken is allowed.
    let fine = format!(
        "{web}mfa:\n  securityDefaults: enabled\n  perUserMfa: unmanaged\n  conditionalAccess:\n    excludeApp: []\n    excludeUsers: []\n"
    );
    assert!(parse_str("p.yaml", &fine).is_ok());
}

#[test]
fn the_preset_needs_a_mode_and_the_hint_recommends_web_login() {
    let text = PASSPORT.replace("passport: {mode: mac-login}\n", "");
    let (path, out) = only_error(&text);
    assert_eq!(path, "preset");
    insta::assert_snapshot!(out, @r"
    `p.yaml` is not a valid entractl spec: 1 error

    error[entractl::spec::missing-field]: `preset: kandji-passport` needs `passport.mode`: `web-login` or `mac-login`
      --> p.yaml:3:9
       |
     3 | preset: kandji-passport
       |         ^^^^^^^^^^^^^^^ which Passport mode?
       = help: add `passport: {mode: web-login}` (recommended: Passport shows the Entra sign-in page, so MFA and conditional access stay in force); `mac-login` signs in with the password (ROPC), which cannot do MFA: it turns security defaults off, turns per-user MFA off for the app's users and excludes the app from conditional access policies
    ");
}

#[test]
fn the_placeholder_is_an_app_of_its_own() {
    let with = |p: &str| format!("{PASSPORT}mfa:\n  conditionalAccess:\n    placeholder: {p}\n");
    for (placeholder, path, says) in [
        (
            "{displayName: P, uniqueName: Kandji-Passport}",
            "mfa.conditionalAccess.placeholder.uniqueName",
            "the app's own unique name",
        ),
        (
            "{displayName: P, uniqueName: my placeholder}",
            "mfa.conditionalAccess.placeholder.uniqueName",
            "is not a valid unique name",
        ),
        (
            "{displayName: ' ', uniqueName: p}",
            "mfa.conditionalAccess.placeholder.displayName",
            "is empty",
        ),
        (
            "{displayName: P, uniqueName: p, excludeFrom: [CA001, ca001]}",
            "mfa.conditionalAccess.placeholder.excludeFrom[1]",
            "duplicate policy",
        ),
        (
            "{displayName: P}",
            "mfa.conditionalAccess.placeholder.uniqueName",
            "missing field `uniqueName`",
        ),
    ] {
        let (at, out) = only_error(&with(placeholder));
        assert_eq!(at, path, "{out}");
        assert!(out.contains(says), "{out}");
    }
}

#[test]
fn without_preset_only_defaults_apply() {
    let text =
        "version: 1\ntenant: contoso.onmicrosoft.com\napp:\n  displayName: X\n  uniqueName: x\n";
    let spec = parse_str("x.yaml", text).unwrap().spec;
    assert_eq!(spec.app.audience, Some(Audience::SingleTenant));
    assert_eq!(spec.app.public_client_flows, None);
    assert_eq!(spec.app.api_permissions, None);
    assert_eq!(spec.app.admin_consent, None);
    assert_eq!(spec.app.redirect_uris, RedirectUris::default());
    assert_eq!(spec.app.tokens, Tokens::default());
    assert_eq!(spec.assignments, None);
    assert_eq!(spec.mfa, None);
}

#[test]
fn locations_by_path() {
    let loaded = parse_str("p.yaml", PASSPORT).unwrap();
    let at = |p: &str| loaded.location(p).map(|l| (l.line, l.column));
    assert_eq!(at("tenant"), Some((2, 9)));
    assert_eq!(at("assignments.users[2]"), Some((12, 47)));
    assert_eq!(at("assignments.groups[0]"), Some((13, 12)));
    assert_eq!(
        at("app.apiPermissions.Microsoft Graph.delegated[1]"),
        Some((10, 27))
    );
    assert_eq!(
        at("app.apiPermissions.Microsoft Graph.delegated[3]"),
        Some((10, 43))
    );
    assert_eq!(at("passport.mode"), Some((4, 18)));
    assert_eq!(at("assignments.users[3]"), None);
    assert_eq!(
        at("app.redirectUris.web[0]"),
        None,
        "from the preset, not in the file"
    );
    assert_eq!(at("nope"), None);
    let loc = loaded.location("app.uniqueName").unwrap();
    assert_eq!(
        &loaded.text()[loc.offset..loc.offset + loc.len],
        "kandji-passport"
    );
}

#[test]
fn report_at_a_path_for_later_stages() {
    let loaded = parse_str("p.yaml", PASSPORT).unwrap();
    let report = loaded.report_at(
        "assignments.users[1]",
        "user `bob@contoso.com` does not exist in the tenant",
        "no such user",
        "check the spelling, or remove the user",
    );
    insta::assert_snapshot!(report.render_plain(), @r"
    `p.yaml` is not a valid entractl spec: 1 error

    error[entractl::spec::invalid-value]: user `bob@contoso.com` does not exist in the tenant
      --> p.yaml:12:30
        |
     12 |   users: [alice@contoso.com, bob@contoso.com, carol@contoso.com]
        |                              ^^^^^^^^^^^^^^^ no such user
        = help: check the spelling, or remove the user
    ");
}

#[test]
fn plain_rendering_lists_every_error() {
    let text =
        "version: 1\ntenant: contoso.onmicrosoft.com\napp:\n  displayname: X\n  audience: single\n";
    let report = parse_str("bad.yaml", text).unwrap_err();
    assert_eq!(report.errors().len(), 3);
    insta::assert_snapshot!(report.render_plain(), @r"
    `bad.yaml` is not a valid entractl spec: 3 errors

    error[entractl::spec::missing-field]: missing field `displayName` in `app`
      --> bad.yaml:3:1
       |
     3 | app:
       | ^^^ `displayName` is missing
       = help: add `displayName:` to `app`: The name shown in the portal and on the consent screen (`displayName`).

    error[entractl::spec::unknown-field]: unknown field `displayname` in `app`, did you mean `displayName`?
      --> bad.yaml:4:3
       |
     4 |   displayname: X
       |   ^^^^^^^^^^^ unknown field
       = help: `app` has the fields `displayName`, `uniqueName`, `appId`, `audience`, `publicClientFlows`, `redirectUris`, `tokens`, `apiPermissions` or `adminConsent`

    error[entractl::spec::unknown-value]: unknown value `single` for `app.audience`, did you mean `single-tenant`?
      --> bad.yaml:5:13
       |
     5 |   audience: single
       |             ^^^^^^ unknown value
       = help: `app.audience` takes one of `single-tenant`, `multi-tenant`, `multi-tenant-and-personal` or `personal-only`
    ");
}

#[test]
fn graph_values_and_hosts() {
    assert_eq!(Audience::SingleTenant.graph_value(), "AzureADMyOrg");
    assert_eq!(
        Audience::from_graph_value("AzureADandPersonalMicrosoftAccount"),
        Some(Audience::MultiTenantAndPersonal)
    );
    assert_eq!(GroupsClaim::All.graph_value(), "All");
    assert_eq!(GroupsClaim::SecurityGroups.graph_value(), "SecurityGroup");
    assert_eq!(GroupsClaim::from_graph_value(None), Some(GroupsClaim::None));
    assert_eq!(
        GroupsClaim::from_graph_value(Some("directoryrole")),
        Some(GroupsClaim::DirectoryRoles)
    );
    assert_eq!(
        Cloud::Public.oidc_metadata_url("contoso.onmicrosoft.com"),
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration"
    );
    assert_eq!(Cloud::UsGov.graph_url(), "https://graph.microsoft.us");
    assert_eq!(
        Cloud::UsGovDod.graph_url(),
        "https://dod-graph.microsoft.us"
    );
    assert_eq!(Cloud::China.login_url(), "https://login.chinacloudapi.cn");
    assert!(SecurityDefaults::Enabled.is_enabled());
    let spec = parse_str("p.yaml", PASSPORT).unwrap().spec;
    assert_eq!(spec.delegated_permissions()[0].0, "Microsoft Graph");
    assert!(!spec.app.api_permissions.unwrap()[0].resource_is_app_id());
}

#[test]
fn size_limit_applies_to_text_too() {
    let text = format!("version: 1\ntenant: {}\n", "a".repeat(MAX_FILE_BYTES));
    let report = parse_str("big.yaml", &text).unwrap_err();
    assert!(report.errors()[0].message.contains("too large"));
}
