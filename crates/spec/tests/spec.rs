//! The library API: expansion, locations, helpers, plain rendering.

use entractl_spec::*;

const PASSPORT: &str = "\
version: 1
tenant: contoso.onmicrosoft.com
preset: kandji-passport
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

#[test]
fn preset_fills_in_the_seed_procedure() {
    let spec = parse_str("p.yaml", PASSPORT).unwrap().spec;
    assert_eq!(spec.cloud, Cloud::Public);
    assert_eq!(spec.preset, Some(Preset::KandjiPassport));
    let app = &spec.app;
    assert_eq!(app.audience, Some(Audience::SingleTenant));
    assert_eq!(app.public_client_flows, Some(true));
    assert_eq!(
        app.redirect_uris.web,
        Some(vec!["http://localhost".to_string()])
    );
    assert_eq!(app.redirect_uris.public_client, None);
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
        mfa.conditional_access,
        Some(ConditionalAccess::ExcludeFromPoliciesRequiringMfa)
    );
}

#[test]
fn user_values_override_the_preset() {
    let text = format!(
        "{PASSPORT}mfa:\n  securityDefaults: unmanaged\n  conditionalAccess:\n    excludeApp: [Require MFA]\n"
    )
    .replace("  uniqueName: kandji-passport\n", "  uniqueName: kandji-passport\n  tokens:\n    groupsClaim: security-groups\n");
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
    let mfa = spec.mfa.unwrap();
    assert_eq!(mfa.security_defaults, None);
    assert_eq!(mfa.per_user_mfa, Some(PerUserMfa::DisabledForAppUsers));
    assert_eq!(
        mfa.conditional_access,
        Some(ConditionalAccess::ExcludeFromPolicies(vec![
            "Require MFA".to_string()
        ]))
    );
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
    assert_eq!(at("assignments.users[2]"), Some((11, 47)));
    assert_eq!(at("assignments.groups[0]"), Some((12, 12)));
    assert_eq!(
        at("app.apiPermissions.Microsoft Graph.delegated[1]"),
        Some((9, 27))
    );
    assert_eq!(
        at("app.apiPermissions.Microsoft Graph.delegated[3]"),
        Some((9, 43))
    );
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
      --> p.yaml:11:30
        |
     11 |   users: [alice@contoso.com, bob@contoso.com, carol@contoso.com]
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
