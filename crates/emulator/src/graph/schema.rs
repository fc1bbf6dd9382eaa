//! Graph object shapes: the full default object of each type (every property Graph returns, with its
//! default or null), the read-only properties, and the write-body validation built on them. Shapes follow
//! `microsoft-graph-docs-contrib/api-reference/v1.0/resources/{application,serviceprincipal,user,group,
//! oauth2permissiongrant,approleassignment,conditionalaccesspolicy,domain,homerealmdiscoverypolicy}.md`
//! (JSON representation sections).

use serde_json::{Value, json};

use super::odata::GraphError;
use crate::state::Obj;

/// A Graph entity type the emulator stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `microsoft.graph.application`.
    Application,
    /// `microsoft.graph.servicePrincipal`.
    ServicePrincipal,
    /// `microsoft.graph.user`.
    User,
    /// `microsoft.graph.group`.
    Group,
    /// `microsoft.graph.oAuth2PermissionGrant`.
    Grant,
    /// `microsoft.graph.appRoleAssignment`.
    AppRoleAssignment,
    /// `microsoft.graph.conditionalAccessPolicy`.
    ConditionalAccessPolicy,
    /// `microsoft.graph.domain`.
    Domain,
    /// `microsoft.graph.homeRealmDiscoveryPolicy`.
    HomeRealmDiscoveryPolicy,
}

impl Kind {
    /// The OData type name.
    pub fn odata_type(self) -> &'static str {
        match self {
            Kind::Application => "microsoft.graph.application",
            Kind::ServicePrincipal => "microsoft.graph.servicePrincipal",
            Kind::User => "microsoft.graph.user",
            Kind::Group => "microsoft.graph.group",
            Kind::Grant => "microsoft.graph.oAuth2PermissionGrant",
            Kind::AppRoleAssignment => "microsoft.graph.appRoleAssignment",
            Kind::ConditionalAccessPolicy => "microsoft.graph.conditionalAccessPolicy",
            Kind::Domain => "microsoft.graph.domain",
            Kind::HomeRealmDiscoveryPolicy => "microsoft.graph.homeRealmDiscoveryPolicy",
        }
    }

    /// The full default object (ids and timestamps empty).
    pub fn template(self) -> Obj {
        let v = match self {
            Kind::Application => json!({
                "id": "", "deletedDateTime": null, "appId": "", "applicationTemplateId": null,
                "disabledByMicrosoftStatus": null, "createdDateTime": null, "displayName": null,
                "description": null, "groupMembershipClaims": null, "identifierUris": [],
                "isDeviceOnlyAuthSupported": null, "isFallbackPublicClient": null,
                "nativeAuthenticationApisEnabled": null, "notes": null, "publisherDomain": null,
                "serviceManagementReference": null, "signInAudience": "AzureADandPersonalMicrosoftAccount",
                "tags": [], "tokenEncryptionKeyId": null, "uniqueName": null, "samlMetadataUrl": null,
                "defaultRedirectUri": null, "certification": null, "optionalClaims": null,
                "servicePrincipalLockConfiguration": null, "requestSignatureVerification": null,
                "addIns": [],
                "api": {"acceptMappedClaims": null, "knownClientApplications": [], "requestedAccessTokenVersion": null,
                        "oauth2PermissionScopes": [], "preAuthorizedApplications": []},
                "appRoles": [],
                "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null,
                         "supportUrl": null, "termsOfServiceUrl": null},
                "keyCredentials": [],
                "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
                "passwordCredentials": [],
                "publicClient": {"redirectUris": []},
                "requiredResourceAccess": [],
                "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null},
                "web": {"homePageUrl": null, "logoutUrl": null, "redirectUris": [],
                        "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
                        "redirectUriSettings": []},
                "spa": {"redirectUris": []}
            }),
            Kind::ServicePrincipal => json!({
                "id": "", "deletedDateTime": null, "accountEnabled": true, "alternativeNames": [],
                "appDisplayName": null, "appDescription": null, "appId": "", "applicationTemplateId": null,
                "appOwnerOrganizationId": null, "appRoleAssignmentRequired": false, "createdDateTime": null,
                "description": null, "disabledByMicrosoftStatus": null, "displayName": null, "homepage": null,
                "loginUrl": null, "logoutUrl": null, "notes": null, "notificationEmailAddresses": [],
                "preferredSingleSignOnMode": null, "preferredTokenSigningKeyThumbprint": null,
                "publisherName": null, "replyUrls": [], "servicePrincipalNames": [], "servicePrincipalType": "Application",
                "signInAudience": null, "tags": [], "tokenEncryptionKeyId": null,
                "samlSingleSignOnSettings": null, "addIns": [], "appRoles": [],
                "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null,
                         "supportUrl": null, "termsOfServiceUrl": null},
                "keyCredentials": [], "oauth2PermissionScopes": [], "passwordCredentials": [],
                "resourceSpecificApplicationPermissions": [],
                "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null}
            }),
            Kind::User => json!({
                "id": "", "businessPhones": [], "displayName": null, "givenName": null, "jobTitle": null,
                "mail": null, "mobilePhone": null, "officeLocation": null, "preferredLanguage": null,
                "surname": null, "userPrincipalName": null, "accountEnabled": true, "createdDateTime": null,
                "department": null, "mailNickname": null, "onPremisesSyncEnabled": null,
                "usageLocation": null, "userType": "Member", "passwordProfile": null
            }),
            Kind::Group => json!({
                "id": "", "deletedDateTime": null, "classification": null, "createdDateTime": null,
                "description": null, "displayName": null, "expirationDateTime": null, "groupTypes": [],
                "isAssignableToRole": null, "mail": null, "mailEnabled": false, "mailNickname": null,
                "membershipRule": null, "membershipRuleProcessingState": null,
                "onPremisesLastSyncDateTime": null, "onPremisesProvisioningErrors": [],
                "onPremisesSecurityIdentifier": null, "onPremisesSyncEnabled": null,
                "preferredDataLocation": null, "preferredLanguage": null, "proxyAddresses": [],
                "renewedDateTime": null, "resourceBehaviorOptions": [],
                "resourceProvisioningOptions": [], "securityEnabled": true,
                "securityIdentifier": null, "theme": null, "visibility": null
            }),
            Kind::Grant => json!({
                "clientId": "", "consentType": "", "id": "", "principalId": null, "resourceId": "", "scope": ""
            }),
            Kind::AppRoleAssignment => json!({
                "id": "", "deletedDateTime": null, "appRoleId": "", "createdDateTime": null,
                "principalDisplayName": null, "principalId": "", "principalType": null,
                "resourceDisplayName": null, "resourceId": ""
            }),
            Kind::ConditionalAccessPolicy => json!({
                "id": "", "templateId": null, "displayName": null, "createdDateTime": null,
                "modifiedDateTime": null, "state": null, "sessionControls": null,
                "conditions": {
                    "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": [],
                    "servicePrincipalRiskLevels": [], "insiderRiskLevels": null, "platforms": null,
                    "locations": null, "devices": null, "clientApplications": null,
                    "authenticationFlows": null,
                    "applications": {"includeApplications": [], "excludeApplications": [],
                                     "includeUserActions": [], "includeAuthenticationContextClassReferences": [],
                                     "applicationFilter": null},
                    "users": {"includeUsers": [], "excludeUsers": [], "includeGroups": [], "excludeGroups": [],
                              "includeRoles": [], "excludeRoles": [], "includeGuestsOrExternalUsers": null,
                              "excludeGuestsOrExternalUsers": null}
                },
                "grantControls": null
            }),
            Kind::Domain => json!({
                "authenticationType": "Managed", "availabilityStatus": null, "id": "",
                "isAdminManaged": true, "isDefault": false, "isInitial": false, "isRoot": true,
                "isVerified": true, "passwordNotificationWindowInDays": null,
                "passwordValidityPeriodInDays": null, "supportedServices": [], "state": null
            }),
            Kind::HomeRealmDiscoveryPolicy => json!({
                "id": "", "deletedDateTime": null, "definition": [], "description": null,
                "displayName": null, "isOrganizationDefault": false
            }),
        };
        match v {
            Value::Object(m) => m,
            _ => Obj::new(),
        }
    }

    /// The type's shape in an API version: v1.0 lacks the beta-only properties (a service
    /// principal's `createdDateTime`), beta adds its own (a conditional access policy's
    /// `partialEnablementStrategy`, `conditions.agentIdRiskLevels`). Sources: graph-docs
    /// `api-reference/{v1.0,beta}/resources/serviceprincipal.md`, `conditionalaccesspolicy.md`,
    /// `conditionalaccessconditionset.md`.
    pub fn template_for(self, version: &str) -> Obj {
        let mut t = self.template();
        let beta = version == "beta";
        match self {
            Kind::ServicePrincipal if !beta => {
                t.remove("createdDateTime");
            }
            Kind::ConditionalAccessPolicy if beta => {
                t.insert("partialEnablementStrategy".into(), Value::Null);
                if let Some(Value::Object(c)) = t.get_mut("conditions") {
                    c.insert("agentIdRiskLevels".into(), Value::Null);
                }
            }
            _ => {}
        }
        t
    }

    /// An object as a version returns it: without the properties that version does not have.
    pub fn shape_for(self, obj: &Obj, version: &str) -> Obj {
        if self == Kind::ServicePrincipal && version != "beta" {
            let mut o = obj.clone();
            o.remove("createdDateTime");
            return o;
        }
        obj.clone()
    }

    /// The OData type of a nested complex property (for error messages), `None` when unknown.
    fn nested_type(self, path: &str) -> Option<&'static str> {
        Some(match (self, path) {
            (Kind::ConditionalAccessPolicy, "conditions") => {
                "microsoft.graph.conditionalAccessConditionSet"
            }
            (Kind::ConditionalAccessPolicy, "conditions.applications") => {
                "microsoft.graph.conditionalAccessApplications"
            }
            (Kind::ConditionalAccessPolicy, "conditions.users") => {
                "microsoft.graph.conditionalAccessUsers"
            }
            (Kind::ConditionalAccessPolicy, "grantControls") => {
                "microsoft.graph.conditionalAccessGrantControls"
            }
            (Kind::Application, "web") => "microsoft.graph.webApplication",
            (Kind::Application, "web.implicitGrantSettings") => {
                "microsoft.graph.implicitGrantSettings"
            }
            (Kind::Application, "publicClient") => "microsoft.graph.publicClientApplication",
            (Kind::Application, "spa") => "microsoft.graph.spaApplication",
            (Kind::Application, "api") => "microsoft.graph.apiApplication",
            (Kind::Application, "info") => "microsoft.graph.informationalUrl",
            _ => return None,
        })
    }

    /// Properties a client may never write.
    pub fn read_only(self) -> &'static [&'static str] {
        match self {
            Kind::Application => &[
                "id",
                "appId",
                "createdDateTime",
                "deletedDateTime",
                "publisherDomain",
                "disabledByMicrosoftStatus",
                "verifiedPublisher",
                "passwordCredentials",
            ],
            Kind::ServicePrincipal => &[
                "id",
                "deletedDateTime",
                "appDisplayName",
                "appOwnerOrganizationId",
                "createdDateTime",
                "publisherName",
                "disabledByMicrosoftStatus",
                "signInAudience",
                "verifiedPublisher",
                "passwordCredentials",
            ],
            Kind::User => &["id", "createdDateTime", "onPremisesSyncEnabled"],
            Kind::Group => &[
                "id",
                "createdDateTime",
                "deletedDateTime",
                "mail",
                "securityIdentifier",
                "renewedDateTime",
                "expirationDateTime",
                "onPremisesSyncEnabled",
                "proxyAddresses",
            ],
            Kind::Grant => &["id"],
            Kind::AppRoleAssignment => &[
                "id",
                "createdDateTime",
                "deletedDateTime",
                "principalDisplayName",
                "principalType",
                "resourceDisplayName",
            ],
            Kind::ConditionalAccessPolicy => {
                &["id", "createdDateTime", "modifiedDateTime", "templateId"]
            }
            Kind::Domain => &[
                "authenticationType",
                "availabilityStatus",
                "isDefault",
                "isInitial",
                "isRoot",
                "isVerified",
            ],
            Kind::HomeRealmDiscoveryPolicy => &["id", "deletedDateTime"],
        }
    }

    /// The properties Graph returns when no `$select` is given (users return a default subset).
    pub fn default_select(self) -> Option<&'static [&'static str]> {
        match self {
            Kind::User => Some(&[
                "businessPhones",
                "displayName",
                "givenName",
                "jobTitle",
                "mail",
                "mobilePhone",
                "officeLocation",
                "preferredLanguage",
                "surname",
                "userPrincipalName",
                "id",
            ]),
            _ => None,
        }
    }
}

/// Validate a write body: a JSON object, no unknown property (checked recursively where the type's
/// shape is known), no read-only property (except `allow`, e.g. `appId` on service principal create).
pub fn validate_write(kind: Kind, body: Option<&Value>, allow: &[&str]) -> Result<Obj, GraphError> {
    validate_write_for(kind, "v1.0", body, allow)
}

/// [`validate_write`] against the shape of the type in `version` (`v1.0` or `beta`).
pub fn validate_write_for(
    kind: Kind,
    version: &str,
    body: Option<&Value>,
    allow: &[&str],
) -> Result<Obj, GraphError> {
    let Some(Value::Object(obj)) = body else {
        return Err(GraphError::new(
            400,
            "BadRequest",
            "Empty Payload. JSON content expected.",
        ));
    };
    let template = kind.template_for(version);
    for (k, v) in obj {
        if k.starts_with('@') || k.contains("@odata.") {
            if k.ends_with("@odata.context") {
                return Err(GraphError::read_only_property(k));
            }
            continue;
        }
        let Some(t) = template.get(k) else {
            return Err(GraphError::unknown_property(k, kind.odata_type()));
        };
        if kind.read_only().contains(&k.as_str()) && !allow.contains(&k.as_str()) {
            return Err(GraphError::read_only_property(k));
        }
        check_nested(k, t, v, kind)?;
    }
    Ok(obj.clone())
}

fn check_nested(path: &str, template: &Value, value: &Value, kind: Kind) -> Result<(), GraphError> {
    match (template, value) {
        (Value::Object(t), Value::Object(v)) if !t.is_empty() => {
            for (k, vv) in v {
                if k.contains("@odata.") {
                    if k.ends_with("@odata.context") {
                        return Err(GraphError::read_only_property(&format!("{path}.{k}")));
                    }
                    continue;
                }
                match t.get(k) {
                    Some(tt) => check_nested(&format!("{path}.{k}"), tt, vv, kind)?,
                    None => {
                        let ty = kind.nested_type(path).unwrap_or(kind.odata_type());
                        return Err(GraphError::unknown_property(k, ty));
                    }
                }
            }
            Ok(())
        }
        (Value::Array(_), v) if !v.is_array() && !v.is_null() => Err(GraphError::bad_request(
            format!("Invalid value for property '{path}': a collection is expected."),
        )),
        (Value::Array(_), Value::Null) => Err(GraphError::bad_request(format!(
            "Invalid value for property '{path}': collections cannot be null."
        ))),
        (Value::Bool(_), v) if !v.is_boolean() && !v.is_null() => Err(GraphError::bad_request(
            format!("Invalid value for property '{path}': a boolean is expected."),
        )),
        _ => Ok(()),
    }
}

/// Apply a PATCH: nested objects are merged, collections and scalars replaced whole. `replace_whole`
/// lists top-level complex properties Graph replaces entirely (e.g. `optionalClaims`).
pub fn merge_patch(target: &mut Obj, patch: &Obj, replace_whole: &[&str]) {
    for (k, v) in patch {
        if k.starts_with('@') {
            continue;
        }
        match (target.get_mut(k), v) {
            (Some(Value::Object(t)), Value::Object(p)) if !replace_whole.contains(&k.as_str()) => {
                merge_patch(t, p, &[]);
            }
            _ => {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

/// A new object of `kind`: the template overlaid with `body`.
pub fn instantiate(kind: Kind, body: &Obj) -> Obj {
    let mut obj = kind.template();
    merge_patch(
        &mut obj,
        body,
        &["optionalClaims", "grantControls", "sessionControls"],
    );
    obj
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_read_only_properties_are_rejected() {
        let e = validate_write(
            Kind::Application,
            Some(&json!({"displayName": "x", "bogus": 1})),
            &[],
        )
        .unwrap_err();
        assert!(e.message.contains("'bogus'"), "{}", e.message);
        let e = validate_write(Kind::Application, Some(&json!({"appId": "x"})), &[]).unwrap_err();
        assert!(e.message.contains("read-only"));
        let e = validate_write(
            Kind::Application,
            Some(&json!({"web": {"redirectUri": []}})),
            &[],
        )
        .unwrap_err();
        assert!(e.message.contains("'redirectUri'"));
        assert!(
            validate_write(
                Kind::ServicePrincipal,
                Some(&json!({"appId": "x"})),
                &["appId"]
            )
            .is_ok()
        );
        assert!(validate_write(Kind::Application, Some(&json!({"tags": null})), &[]).is_err());
    }

    #[test]
    fn patch_merges_objects_and_replaces_collections() {
        let mut app = Kind::Application.template();
        let patch = json!({"web": {"redirectUris": ["https://a"]}, "tags": ["t"]});
        merge_patch(&mut app, patch.as_object().unwrap(), &["optionalClaims"]);
        assert_eq!(app["web"]["redirectUris"], json!(["https://a"]));
        assert_eq!(
            app["web"]["implicitGrantSettings"]["enableIdTokenIssuance"],
            json!(false)
        );
        let patch = json!({"tags": []});
        merge_patch(&mut app, patch.as_object().unwrap(), &[]);
        assert_eq!(app["tags"], json!([]));
    }
}
