//! The sign-in errors (AADSTS codes) a Kandji Passport setup runs into: Entra's own message,
//! what it means for Passport's password sign-in (ROPC), and the fix in entractl's spec and in
//! the Entra admin center.
//!
//! Messages are from entra-docs `identity-platform/reference-error-codes.md`; Microsoft warns
//! that codes and texts change over time, so every answer also carries the live lookup URL
//! ([`lookup_url`]). Used by `entractl explain` and `entractl verify-signin`.

use serde::Serialize;

/// One sign-in error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SignInError {
    /// The number after `AADSTS`.
    pub code: u32,
    /// Entra's name for it (`UserStrongAuthClientAuthNRequired`), or a short description in
    /// words where Entra's table gives no name (7000215, 7000218, 9001023).
    pub name: &'static str,
    /// Entra's message (entra-docs, `reference-error-codes.md`).
    pub message: &'static str,
    /// What it means when Kandji Passport's password sign-in gets it.
    pub meaning: &'static str,
    /// The fix in entractl terms: the spec setting or command.
    pub fix_entractl: &'static str,
    /// The fix in the Microsoft Entra admin center.
    pub fix_portal: &'static str,
}

impl SignInError {
    /// `AADSTS50076`.
    pub fn label(&self) -> String {
        format!("AADSTS{}", self.code)
    }
}

const MFA_FIX_SPEC: &str = "Set `mfa.securityDefaults: disabled`, `mfa.perUserMfa: disabled-for-app-users` and `mfa.conditionalAccess.excludeApp: from-policies-requiring-mfa` (the `kandji-passport` preset sets all three), run `entractl plan` to see which policies and users change, then `entractl apply --allow-security-downgrade`. `entractl verify-signin SPEC --username UPN` checks the result.";

const MFA_FIX_PORTAL: &str = "Identity > Overview > Properties > Manage security defaults: Disabled; legacy per-user MFA (Users > Per-user MFA): Disabled for the Passport users; Protection > Conditional Access: in every policy whose Grant requires MFA, Target resources > Exclude > select the Passport app.";

static TABLE: &[SignInError] = &[
    SignInError {
        code: 50034,
        name: "UserAccountNotFound",
        message: "To sign into this application, the account must be added to the directory. This error can occur because the user mis-typed their username, or isn't in the tenant.",
        meaning: "The username typed at the Mac's login window is not a user of the tenant Passport signs in to: a typo, a user of another tenant, or an alias instead of the user principal name.",
        fix_entractl: "Nothing in the spec: check the username (the user principal name, e.g. alice@contoso.com) and that `tenant` in the spec is the tenant the user belongs to. `entractl verify-signin SPEC --username UPN` tries the same sign-in.",
        fix_portal: "Identity > Users > All users: find the user and use the User principal name shown there.",
    },
    SignInError {
        code: 50053,
        name: "IdsLocked",
        message: "The account is locked because the user tried to sign in too many times with an incorrect user ID or password, or sign-in was blocked because it came from an IP address with malicious activity.",
        meaning: "Too many wrong passwords (smart lockout), or the Mac's network address is flagged. Not a configuration problem of the Passport app.",
        fix_entractl: "Nothing in the spec. Wait for the lockout to end (or unblock the user), then retry; `entractl verify-signin` from another network tells the two causes apart.",
        fix_portal: "Monitoring & health > Sign-in logs: filter on error code 50053 and read the Failure reason; Protection > Identity Protection to remediate a risky user.",
    },
    SignInError {
        code: 50055,
        name: "InvalidPasswordExpiredPassword",
        message: "The password is expired. The user's password is expired, and therefore their login or session was ended.",
        meaning: "The user's Entra password has expired. The password sign-in cannot offer a password change, so Passport cannot log in until it is reset.",
        fix_entractl: "Nothing in the spec: the user resets the password (self-service password reset on the web, or an admin does it), then signs in at the Mac with the new one.",
        fix_portal: "Identity > Users > the user > Reset password.",
    },
    SignInError {
        code: 50057,
        name: "UserDisabled",
        message: "The user account is disabled. The user object in Active Directory backing this account has been disabled.",
        meaning: "The account is blocked from signing in (accountEnabled is false, in Entra or in the on-premises directory that syncs to it).",
        fix_entractl: "Nothing in the spec: enable the account if the user should sign in.",
        fix_portal: "Identity > Users > the user > Edit properties > Settings > Account enabled.",
    },
    SignInError {
        code: 50076,
        name: "UserStrongAuthClientAuthNRequired",
        message: "Due to a configuration change made by the admin such as a Conditional Access policy, per-user enforcement, or because you moved to a new location, the user must use multifactor authentication to access the resource.",
        meaning: "MFA is required for this sign-in, and the password grant Passport uses cannot do MFA. The requirement comes from security defaults, legacy per-user MFA for this user, or a conditional access policy that requires MFA and covers the Passport app.",
        fix_entractl: MFA_FIX_SPEC,
        fix_portal: MFA_FIX_PORTAL,
    },
    SignInError {
        code: 50079,
        name: "UserStrongAuthEnrollmentRequired",
        message: "Due to a configuration change made by the admin such as a Conditional Access policy, per-user enforcement, or because the user moved to a new location, the user is required to use multifactor authentication. Either a managed user needs to register security info to complete multifactor authentication, or a federated user needs to get the multifactor claim from the federated identity provider.",
        meaning: "Same cause as AADSTS50076, for a user who has not registered an MFA method yet (typical with security defaults on). Registering MFA would not help Passport: the password grant cannot do MFA either way.",
        fix_entractl: MFA_FIX_SPEC,
        fix_portal: MFA_FIX_PORTAL,
    },
    SignInError {
        code: 50105,
        name: "EntitlementGrantsNotFound",
        message: "The signed in user isn't assigned to a role for the signed in app. Assign the user to the app.",
        meaning: "The Passport app requires assignment and this user is neither assigned nor a direct member of an assigned group (members of nested groups do not count).",
        fix_entractl: "Add the user to `assignments.users`, or a group they are a direct member of to `assignments.groups` (groups need Entra ID P1), then `entractl apply`. `assignments.required: false` lets every user of the tenant sign in instead.",
        fix_portal: "Enterprise applications > the Passport app > Users and groups > Add user/group.",
    },
    SignInError {
        code: 50126,
        name: "InvalidUserNameOrPassword",
        message: "Error validating credentials due to invalid username or password. The user didn't enter the right credentials.",
        meaning: "The password is wrong for this user — or the password grant cannot check it: a user of a federated (AD FS) domain when no home realm discovery policy allows cloud password validation, an invited guest, or an account without a password.",
        fix_entractl: "Nothing in the spec for a wrong password: retry with the right one. `entractl plan` names the federated users and guests among the app's users (docs/mfa.md, \"Before you rely on password sign-in\"): for federated domains, assign the Passport app a home realm discovery policy with AllowCloudPasswordValidation (it needs password hash sync); guests and accounts without a password cannot use password sign-in.",
        fix_portal: "Identity > Users > the user > Reset password; for federated users check Hybrid management > Microsoft Entra Connect > password hash synchronization.",
    },
    SignInError {
        code: 53000,
        name: "DeviceNotCompliant",
        message: "Conditional Access policy requires a compliant device, and the device isn't compliant.",
        meaning: "A conditional access policy requires a compliant device. A password sign-in from the Mac's login window carries no device identity, so it can never satisfy that control.",
        fix_entractl: "Name the policy in `mfa.conditionalAccess.excludeApp` (a list of policy names or ids) so that entractl excludes the Passport app from it, then `entractl apply --allow-security-downgrade`. `entractl plan` lists every policy with the reason it is or is not changed.",
        fix_portal: "Protection > Conditional Access > the policy requiring a compliant device > Target resources > Exclude > select the Passport app.",
    },
    SignInError {
        code: 53003,
        name: "BlockedByConditionalAccess",
        message: "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.",
        meaning: "A conditional access policy with Block access covers this sign-in (for example a location or platform block). entractl reports such policies in the plan but never excludes the app from them on its own.",
        fix_entractl: "Run `entractl plan` to find the blocking policy (verdict \"blocks\"). If Passport must get through it, name it in `mfa.conditionalAccess.excludeApp` and `entractl apply --allow-security-downgrade`; otherwise sign in from where the policy allows.",
        fix_portal: "Monitoring & health > Sign-in logs > the failed sign-in > Conditional Access tab shows the policy; edit its Target resources > Exclude.",
    },
    SignInError {
        code: 65001,
        name: "DelegationDoesNotExist",
        message: "The user or administrator hasn't consented to use the application with ID X. Send an interactive authorization request for this user and resource.",
        meaning: "A scope the sign-in asked for has no consent: nobody granted the Passport app its Microsoft Graph delegated permissions (the `kandji-passport` preset declares openid, email, profile, User.Read), or the sign-in asked for a scope the spec does not declare (for example `offline_access`). The password grant cannot show a consent prompt, so admin consent is required.",
        fix_entractl: "Set `app.adminConsent: true` with the permissions in `app.apiPermissions` (the `kandji-passport` preset does both), then `entractl apply`. If Passport on the Macs asks for a scope the spec does not declare (such as `offline_access`), add it to `app.apiPermissions` under `Microsoft Graph: {delegated: [...]}` and apply; `entractl verify-signin --scope` reproduces a given scope list.",
        fix_portal: "App registrations > the Passport app > API permissions > Grant admin consent for <tenant>.",
    },
    SignInError {
        code: 70011,
        name: "InvalidScope",
        message: "The scope requested by the app is invalid.",
        meaning: "The scopes the sign-in asked for are malformed or mix resources (for example a Microsoft Graph scope together with another API's scope, or a `.default` scope with others). The preset consents Microsoft Graph's `openid email profile User.Read`, and `entractl verify-signin` asks for the spec's declared Microsoft Graph delegated permissions.",
        fix_entractl: "Keep `app.apiPermissions` to Microsoft Graph delegated permissions only (the preset's value is `Microsoft Graph: {delegated: [openid, email, profile, User.Read]}`; add `offline_access` if Passport on the Macs asks for it) and check the scopes configured in the Passport library item.",
        fix_portal: "App registrations > the Passport app > API permissions: only Microsoft Graph delegated permissions (openid, email, profile, User.Read, plus offline_access if Passport asks for it).",
    },
    SignInError {
        code: 90002,
        name: "InvalidTenantName",
        message: "The tenant name wasn't found in the data store. Check to make sure you have the correct tenant ID.",
        meaning: "The tenant in the sign-in URL does not exist in this cloud: a typo in the tenant domain or id, or a national-cloud tenant used against the public cloud.",
        fix_entractl: "Check `tenant` (tenant id or a verified domain) and `cloud` (public, usgov, usgov-dod, china) in the spec, and the identity provider URL configured in Kandji (entractl prints it as the OIDC metadata URL output).",
        fix_portal: "Identity > Overview: the Tenant ID and primary domain.",
    },
    SignInError {
        code: 530035,
        name: "BlockedBySecurityDefaults",
        message: "Access has been blocked by security defaults. This is due to the request using legacy auth or being deemed unsafe by security defaults policies.",
        meaning: "Security defaults are on. They require MFA for everyone and cannot exclude an app, so Passport's password sign-in cannot work while they are on.",
        fix_entractl: "Set `mfa.securityDefaults: disabled`, then `entractl apply --allow-security-downgrade`. On Entra ID P1 keep MFA for everything else with conditional access (`mfa.conditionalAccess.excludeApp` excludes only Passport); see docs/mfa.md.",
        fix_portal: "Identity > Overview > Properties > Manage security defaults: Disabled.",
    },
    SignInError {
        code: 700016,
        name: "UnauthorizedClient_DoesNotMatchRequest",
        message: "The application wasn't found in the directory/tenant. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have misconfigured the identifier value for the application or sent your authentication request to the wrong tenant.",
        meaning: "The client id configured in Kandji is not an app of this tenant: a wrong client id, the wrong tenant, or an app created seconds ago that has not replicated yet.",
        fix_entractl: "Copy the client id from `entractl plan` or `apply` (the outputs) into the Passport library item; check `tenant` in the spec. Just after `entractl apply` created the app, wait a minute and retry.",
        fix_portal: "App registrations > the Passport app > Overview: Application (client) ID and Directory (tenant) ID.",
    },
    SignInError {
        code: 700025,
        name: "InvalidClientPublicClientWithCredential",
        message: "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        meaning: "The app is a public client (public client flows on, as Passport needs), and the sign-in also sent a client secret.",
        fix_entractl: "Keep `app.publicClientFlows: true` and remove the client secret from the Passport configuration: the password sign-in of a public client sends none.",
        fix_portal: "Kandji: Passport library item, leave the client secret empty; Entra: App registrations > the Passport app > Authentication > Allow public client flows: Yes.",
    },
    SignInError {
        code: 7000215,
        name: "Invalid client secret",
        message: "Invalid client secret is provided.",
        meaning: "A client secret was sent and it is not a valid secret of the app. Passport needs no secret when the app allows public client flows. If entractl itself signs in with a client secret (`--auth client-secret`), that secret is wrong.",
        fix_entractl: "For Passport: `app.publicClientFlows: true` and no secret in the Passport library item. For entractl's own sign-in: put the secret's value (not its id) in the environment variable entractl reads, or create a new one.",
        fix_portal: "App registrations > the app > Certificates & secrets: create a new client secret and copy its Value.",
    },
    SignInError {
        code: 7000218,
        name: "Client secret or assertion missing",
        message: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        meaning: "Public client flows are off for the Passport app, so Entra treats the password sign-in as coming from a confidential client and wants a secret. This is the \"Enable the following mobile and desktop flows\" step of Kandji's guide.",
        fix_entractl: "Set `app.publicClientFlows: true` (the `kandji-passport` preset does), then `entractl apply`.",
        fix_portal: "App registrations > the Passport app > Authentication > Advanced settings > Allow public client flows (Enable the following mobile and desktop flows): Yes > Save.",
    },
    SignInError {
        code: 7000222,
        name: "InvalidClientSecretExpiredKeysProvided",
        message: "The provided client secret keys are expired. Create new keys for your app, or consider using certificate credentials for added security.",
        meaning: "A client secret was sent and it has expired. Passport needs none; for entractl's own client-secret sign-in, the secret must be renewed.",
        fix_entractl: "For Passport: `app.publicClientFlows: true` and no secret. For entractl: create a new secret (or switch to a certificate or federated credential) and update the environment entractl runs in.",
        fix_portal: "App registrations > the app > Certificates & secrets: new client secret.",
    },
    SignInError {
        code: 9001023,
        name: "Grant type not supported over /common",
        message: "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
        meaning: "The password grant was sent to /common; it needs the tenant-specific endpoint (or /organizations).",
        fix_entractl: "Use the OIDC metadata URL entractl prints (it contains the tenant id) as Passport's identity provider URL.",
        fix_portal: "App registrations > the Passport app > Endpoints: OpenID Connect metadata document.",
    },
];

/// Every known code, in ascending order.
pub fn all() -> &'static [SignInError] {
    TABLE
}

/// The entry for `code`, if entractl knows it.
pub fn lookup(code: u32) -> Option<&'static SignInError> {
    TABLE.iter().find(|e| e.code == code)
}

/// Microsoft's live lookup page for a code.
pub fn lookup_url(code: u32) -> String {
    format!("https://login.microsoftonline.com/error?code={code}")
}

/// Input that is not an AADSTS code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "\"{input}\" is not an AADSTS error code; give the number, with or without the prefix (`AADSTS50076` or `50076`)"
)]
pub struct ParseCodeError {
    pub input: String,
}

/// Reads `AADSTS50076`, `aadsts50076`, `50076` (surrounding spaces and a trailing `:` allowed).
pub fn parse_code(input: &str) -> Result<u32, ParseCodeError> {
    let err = || ParseCodeError {
        input: input.to_string(),
    };
    let trimmed = input.trim().trim_end_matches(':');
    let digits = if trimmed.len() >= 6 && trimmed[..6].eq_ignore_ascii_case("AADSTS") {
        &trimmed[6..]
    } else {
        trimmed
    };
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    digits.parse().map_err(|_| err())
}

/// The `n` known codes nearest to `code`: fewest digit edits first (a typo such as `5076` for
/// `50076`), then the closest number.
pub fn nearest(code: u32, n: usize) -> Vec<&'static SignInError> {
    let wanted = code.to_string();
    let mut ranked: Vec<(usize, u64, &SignInError)> = TABLE
        .iter()
        .map(|e| {
            (
                edit_distance(&wanted, &e.code.to_string()),
                u64::from(e.code.abs_diff(code)),
                e,
            )
        })
        .collect();
    ranked.sort_by_key(|(d, gap, e)| (*d, *gap, e.code));
    ranked.into_iter().take(n).map(|(_, _, e)| e).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_unique_and_complete() {
        let codes: Vec<u32> = all().iter().map(|e| e.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted, "ascending, no duplicates");
        for code in [
            50076, 50079, 53003, 530035, 50126, 50105, 65001, 700016, 7000218, 7000215, 700025,
            90002, 70011, 50057, 50053, 50034,
        ] {
            let e = lookup(code).unwrap_or_else(|| panic!("{code} missing"));
            for field in [e.name, e.message, e.meaning, e.fix_entractl, e.fix_portal] {
                assert!(!field.trim().is_empty(), "{code}");
            }
        }
    }

    #[test]
    fn scope_errors_describe_the_declared_scopes_not_a_fixed_passport_list() {
        // The preset consents openid email profile User.Read; verify-signin asks for the
        // spec's declared delegated permissions. `offline_access` is only an example of a
        // scope to add when Passport on the Macs asks for it.
        let e65001 = lookup(65001).unwrap();
        assert!(e65001.fix_entractl.contains("app.apiPermissions"));
        assert!(e65001.fix_entractl.contains("offline_access"));
        let e70011 = lookup(70011).unwrap();
        assert!(!e70011.meaning.contains("Passport asks for"));
        assert!(e70011.meaning.contains("`openid email profile User.Read`"));
        assert!(e70011.meaning.contains("verify-signin"));
    }

    #[test]
    fn fixes_name_spec_settings() {
        assert!(
            lookup(7000218)
                .unwrap()
                .fix_entractl
                .contains("app.publicClientFlows: true")
        );
        assert!(
            lookup(50105)
                .unwrap()
                .fix_entractl
                .contains("assignments.users")
        );
        assert!(
            lookup(530035)
                .unwrap()
                .fix_entractl
                .contains("mfa.securityDefaults: disabled")
        );
        assert!(
            lookup(50076)
                .unwrap()
                .fix_entractl
                .contains("--allow-security-downgrade")
        );
        assert!(
            lookup(65001)
                .unwrap()
                .fix_entractl
                .contains("app.adminConsent: true")
        );
    }

    #[test]
    fn parse_accepts_prefix_in_any_case() {
        assert_eq!(parse_code("AADSTS50076"), Ok(50076));
        assert_eq!(parse_code("aadsts50076"), Ok(50076));
        assert_eq!(parse_code(" 50076 "), Ok(50076));
        assert_eq!(parse_code("AADSTS7000218:"), Ok(7000218));
        for bad in [
            "",
            "AADSTS",
            "hello",
            "50076x",
            "-1",
            "1234567890",
            "AADSTS 50076",
        ] {
            assert!(parse_code(bad).is_err(), "{bad:?}");
        }
        assert!(
            parse_code("x")
                .unwrap_err()
                .to_string()
                .contains("AADSTS50076")
        );
    }

    #[test]
    fn nearest_prefers_typos_then_numbers() {
        let near: Vec<u32> = nearest(5076, 3).iter().map(|e| e.code).collect();
        assert_eq!(near[0], 50076, "{near:?}");
        let near: Vec<u32> = nearest(50077, 2).iter().map(|e| e.code).collect();
        assert_eq!(near, vec![50076, 50079]);
        assert_eq!(nearest(1, 100).len(), all().len());
        assert_eq!(
            lookup_url(50058),
            "https://login.microsoftonline.com/error?code=50058"
        );
        assert_eq!(edit_distance("abc", "abd"), 1);
        assert_eq!(edit_distance("", "ab"), 2);
    }
}
