//! Property: any valid spec, rendered back to YAML and parsed again, is equal.

use entractl_spec::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn guid() -> impl Strategy<Value = String> {
    "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
}

fn tenant() -> impl Strategy<Value = String> {
    prop_oneof![
        guid(),
        "[a-z][a-z0-9]{0,10}\\.onmicrosoft\\.com",
        "[a-z][a-z0-9-]{0,8}[a-z0-9]\\.(com|org|us)",
    ]
}

/// Names with characters YAML cares about (`:`, `#`, quotes, leading digits, `yes`, `null`).
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9][A-Za-z0-9 :#'\"&*!,.-]{0,20}[A-Za-z0-9]",
        Just("yes".to_string()),
        Just("null".to_string()),
        Just("123".to_string()),
        Just("true".to_string()),
    ]
}

fn upn() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z][a-z0-9._-]{0,8}[a-z0-9]@contoso\\.com", guid()]
}

fn uri() -> impl Strategy<Value = String> {
    prop_oneof![
        "https://[a-z]{1,8}\\.contoso\\.com/[a-z]{0,8}",
        "http://localhost(:[1-9][0-9]{3})?(/[a-z]{1,6})?",
    ]
}

fn claims(token: &'static [&'static str]) -> impl Strategy<Value = Option<RawTokenClaims>> {
    option::of(
        proptest::sample::subsequence(token, 0..=token.len().min(4)).prop_flat_map(|names| {
            let n = names.len();
            (Just(names), vec(any::<bool>(), n), vec(any::<bool>(), n)).prop_map(
                |(names, detailed, essential)| RawTokenClaims {
                    optional_claims: names
                        .into_iter()
                        .zip(detailed.into_iter().zip(essential))
                        .map(|(name, (detailed, essential))| {
                            if detailed {
                                RawClaim::Detailed(RawClaimDetail {
                                    name: name.to_string(),
                                    essential: Some(essential),
                                    source: None,
                                    additional_properties: (name == "upn").then(|| {
                                        vec!["include_externally_authenticated_upn".to_string()]
                                    }),
                                })
                            } else {
                                RawClaim::Name(name.to_string())
                            }
                        })
                        .collect(),
                },
            )
        }),
    )
}

fn unique<T: Clone + PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn app() -> impl Strategy<Value = RawApp> {
    let redirect = option::of((
        option::of(vec(uri(), 0..3)),
        option::of(vec(
            prop_oneof![uri(), Just("myapp://auth".to_string())],
            0..3,
        )),
        option::of(vec(uri(), 0..3)),
    ))
    .prop_map(|r| {
        r.map(|(web, public_client, spa)| RawRedirectUris {
            web: web.map(unique),
            public_client: public_client.map(unique),
            spa: spa.map(unique),
        })
    });
    let tokens = option::of((
        claims(&[
            "preferred_username",
            "email",
            "upn",
            "given_name",
            "family_name",
        ]),
        claims(&["email", "idtyp", "aud", "upn"]),
        claims(&["upn", "acct", "email", "groups"]),
        option::of(prop_oneof![
            Just(GroupsClaim::None),
            Just(GroupsClaim::SecurityGroups),
            Just(GroupsClaim::DirectoryRoles),
            Just(GroupsClaim::ApplicationGroups),
            Just(GroupsClaim::All),
        ]),
    ))
    .prop_map(|t| {
        t.map(|(id, access, saml2, groups_claim)| RawTokens {
            id,
            access,
            saml2,
            groups_claim,
        })
    });
    let permissions = option::of(vec(
        (
            prop_oneof![
                Just("Microsoft Graph".to_string()),
                Just("Office 365 Exchange Online".to_string()),
                guid(),
            ],
            vec("[A-Z][a-z]{2,6}\\.(Read|ReadWrite)(\\.All)?", 1..4),
            vec("[A-Z][a-z]{2,6}\\.Read\\.All", 0..2),
        ),
        1..3,
    ))
    .prop_map(|p| {
        p.map(|entries| {
            let mut seen = Vec::new();
            OrderedMap(
                entries
                    .into_iter()
                    .filter(|(r, _, _)| {
                        let fresh = !seen.contains(&r.to_lowercase());
                        seen.push(r.to_lowercase());
                        fresh
                    })
                    .map(|(r, d, a)| {
                        let dedup = |v: Vec<String>| {
                            let mut out: Vec<String> = Vec::new();
                            for s in v {
                                if !out.iter().any(|o| o.eq_ignore_ascii_case(&s)) {
                                    out.push(s);
                                }
                            }
                            out
                        };
                        let a = dedup(a);
                        (
                            r,
                            RawPermissions {
                                delegated: Some(dedup(d)),
                                application: (!a.is_empty()).then_some(a),
                            },
                        )
                    })
                    .collect(),
            )
        })
    });
    (
        name(),
        prop_oneof![
            "[a-z][a-z0-9.-]{0,15}[a-z0-9]".prop_map(|u| (Some(u), None)),
            guid().prop_map(|g| (None, Some(g))),
        ],
        option::of(prop_oneof![
            Just(Audience::SingleTenant),
            Just(Audience::MultiTenant),
            Just(Audience::MultiTenantAndPersonal),
            Just(Audience::PersonalOnly),
        ]),
        option::of(any::<bool>()),
        redirect,
        tokens,
        permissions,
        option::of(any::<bool>()),
    )
        .prop_map(
            |(
                display_name,
                (unique_name, app_id),
                audience,
                pcf,
                redirect_uris,
                tokens,
                api_permissions,
                consent,
            )| {
                RawApp {
                    display_name,
                    unique_name,
                    app_id,
                    audience,
                    public_client_flows: pcf,
                    redirect_uris,
                    tokens,
                    // Admin consent only where there is something to consent to.
                    admin_consent: consent.filter(|c| !c || api_permissions.is_some()),
                    api_permissions,
                }
            },
        )
}

/// Policy names, none to a few.
fn policies() -> impl Strategy<Value = Vec<String>> {
    vec(name(), 0..3).prop_map(|p| unique(p.into_iter().map(|s| s.to_lowercase()).collect()))
}

fn selection() -> impl Strategy<Value = RawPolicySelection> {
    prop_oneof![
        Just(RawPolicySelection::Keyword(
            RawPolicyKeyword::FromPoliciesRequiringMfa
        )),
        policies().prop_map(RawPolicySelection::Policies),
    ]
}

/// Whether the file's own `mfa` weakens anything (which Web Login refuses).
fn weakens(mfa: &Option<RawMfa>) -> bool {
    let Some(m) = mfa else { return false };
    let ca = m.conditional_access.as_ref();
    let list = |p: &[String]| !p.is_empty();
    m.security_defaults == Some(RawSecurityDefaults::Disabled)
        || m.per_user_mfa == Some(RawPerUserMfa::DisabledForAppUsers)
        || ca.is_some_and(|ca| {
            ca.placeholder.is_some()
                || match &ca.exclude_app {
                    Some(RawExcludeApp::Policies(p)) => list(p),
                    Some(RawExcludeApp::Keyword(k)) => {
                        *k == RawExcludeKeyword::FromPoliciesRequiringMfa
                    }
                    None => false,
                }
                || match &ca.exclude_users {
                    Some(RawPolicySelection::Policies(p)) => list(p),
                    Some(RawPolicySelection::Keyword(_)) => true,
                    None => false,
                }
        })
}

fn spec() -> impl Strategy<Value = RawSpec> {
    let assignments = option::of((
        option::of(any::<bool>()),
        option::of(vec(upn(), 0..4)),
        option::of(vec(prop_oneof![name(), guid()], 0..3)),
        option::of(prop_oneof![
            Just("User".to_string()),
            Just("Admin".to_string())
        ]),
        option::of(any::<bool>()),
    ))
    .prop_map(|a| {
        a.map(|(required, users, groups, role, prune)| RawAssignments {
            required,
            users: users.map(|u| unique(u.into_iter().map(|s| s.to_lowercase()).collect())),
            groups: groups.map(|g| unique(g.into_iter().map(|s| s.to_lowercase()).collect())),
            role,
            prune: prune.filter(|_| false),
        })
    });
    let mfa = option::of((
        option::of(prop_oneof![
            Just(RawSecurityDefaults::Enabled),
            Just(RawSecurityDefaults::Disabled),
            Just(RawSecurityDefaults::Unmanaged),
        ]),
        option::of(prop_oneof![
            Just(RawPerUserMfa::DisabledForAppUsers),
            Just(RawPerUserMfa::Unmanaged),
        ]),
        option::of(prop_oneof![
            Just(RawExcludeApp::Keyword(
                RawExcludeKeyword::FromPoliciesRequiringMfa
            )),
            Just(RawExcludeApp::Keyword(RawExcludeKeyword::Unmanaged)),
            policies().prop_map(RawExcludeApp::Policies),
        ]),
        option::of(selection()),
        option::of(
            (
                "[A-Z][a-z]{0,8}( [a-z]{1,6})?",
                "ph-[a-z0-9]{1,8}",
                option::of(selection()),
            )
                .prop_map(|(display_name, unique_name, exclude_from)| RawPlaceholder {
                    display_name,
                    unique_name,
                    exclude_from,
                }),
        ),
    ))
    .prop_map(|m| {
        m.map(
            |(security_defaults, per_user_mfa, exclude_app, exclude_users, placeholder)| RawMfa {
                security_defaults,
                per_user_mfa,
                conditional_access: (exclude_app.is_some()
                    || exclude_users.is_some()
                    || placeholder.is_some())
                .then_some(RawConditionalAccess {
                    exclude_app,
                    exclude_users,
                    placeholder,
                }),
            },
        )
    });
    (
        tenant(),
        option::of(prop_oneof![
            Just(Cloud::Public),
            Just(Cloud::UsGov),
            Just(Cloud::UsGovDod),
            Just(Cloud::China),
        ]),
        option::of(Just(Preset::KandjiPassport)),
        option::of(prop_oneof![
            Just(PassportMode::WebLogin),
            Just(PassportMode::MacLogin)
        ]),
        app(),
        assignments,
        mfa,
    )
        .prop_map(|(tenant, cloud, preset, mode, app, assignments, mfa)| {
            // The preset needs a mode; Web Login refuses a weakening `mfa`.
            let mode = match mode {
                None if preset.is_some() => Some(PassportMode::WebLogin),
                m => m,
            }
            .map(|m| {
                if weakens(&mfa) {
                    PassportMode::MacLogin
                } else {
                    m
                }
            });
            RawSpec {
                version: 1,
                tenant,
                cloud,
                preset,
                passport: mode.map(|mode| Passport { mode }),
                app,
                assignments,
                mfa,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, max_global_rejects: 4096, ..ProptestConfig::default() })]

    #[test]
    fn valid_specs_round_trip(raw in spec()) {
        let yaml = serde_saphyr::to_string(&raw).expect("serialize");
        let loaded = parse_str("generated.yaml", &yaml);
        // Only valid specs are the subject (the generator makes mostly valid ones).
        prop_assume!(loaded.is_ok());
        let loaded = loaded.unwrap();
        // The file as written parses to what was written.
        prop_assert_eq!(&loaded.raw, &raw);
        // The expanded rendering parses to the same expanded spec.
        let again = parse_str("expanded.yaml", &loaded.to_yaml());
        prop_assert!(again.is_ok(), "{}\n{}", loaded.to_yaml(), again.unwrap_err().render_plain());
        let mut expected = loaded.spec.clone();
        expected.preset = None;
        prop_assert_eq!(again.unwrap().spec, expected);
    }
}

/// The generator must produce mostly valid specs, or the property above tests little.
#[test]
fn generator_makes_mostly_valid_specs() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = spec();
    let mut valid = 0;
    let mut failures = Vec::new();
    for _ in 0..200 {
        let raw = strategy.new_tree(&mut runner).unwrap().current();
        let yaml = serde_saphyr::to_string(&raw).unwrap();
        match parse_str("generated.yaml", &yaml) {
            Ok(_) => valid += 1,
            Err(e) => failures.push(e.render_plain()),
        }
    }
    assert!(
        valid >= 120,
        "only {valid} of 200 valid; e.g.\n{}",
        failures.first().map_or("", |s| s.as_str())
    );
}
