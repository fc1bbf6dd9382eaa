//! What a conditional access policy is evaluated against: the sign-in.

use crate::baseline_scopes::Audience;
use crate::state::{Record, Tenant};

/// One sign-in, as conditional access sees it.
#[derive(Debug, Clone)]
pub struct SignIn<'a> {
    /// The tenant (group memberships, directory roles).
    pub tenant: &'a Tenant,
    /// The signing-in user.
    pub user: &'a Record,
    /// What the user accesses.
    pub target: Target,
    /// Client, device, location, risk and flow.
    pub conditions: Conditions,
}

/// What the sign-in accesses (What-If's `signInContext`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Resources (app ids); for real sign-ins, computed from the scopes by
    /// [`crate::baseline_scopes::audience`].
    Applications(Audience),
    /// A user action (`urn:user:registersecurityinfo`, `urn:user:registerdevice`).
    UserAction(String),
    /// An authentication context class reference (`c1` … `c99`).
    AuthenticationContext(String),
}

/// The sign-in's conditions (What-If's `signInConditions`). `None` is "not known": the emulator's own
/// sign-ins have no device, an unknown platform, no risk, and an unnamed, untrusted location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `browser`, `mobileAppsAndDesktopClients`, `exchangeActiveSync`, `other`; `None` or `all` match
    /// any client-app condition.
    pub client_app_type: Option<String>,
    /// `android`, `iOS`, `windows`, `windowsPhone`, `macOS`, `linux`; `None` or `all` is an unknown
    /// platform.
    pub device_platform: Option<String>,
    /// What-If's `deviceInfo` (`None`: no device).
    pub device_info: Option<serde_json::Value>,
    /// `deviceCodeFlow` or `authenticationTransfer` (`None`: neither).
    pub authentication_flow: Option<String>,
    /// Sign-in risk (`None` = `none`).
    pub sign_in_risk: Option<String>,
    /// User risk (`None` = `none`).
    pub user_risk: Option<String>,
    /// Insider risk (`None` = `none`).
    pub insider_risk: Option<String>,
}

impl Conditions {
    /// A password (ROPC) sign-in: a desktop client with modern authentication, no device.
    pub fn password() -> Conditions {
        Conditions {
            client_app_type: Some("mobileAppsAndDesktopClients".into()),
            ..Conditions::default()
        }
    }

    /// A device-code sign-in (and the refreshes of its tokens).
    pub fn device_code() -> Conditions {
        Conditions {
            authentication_flow: Some("deviceCodeFlow".into()),
            ..Conditions::password()
        }
    }
}

/// Why a policy does not apply (Graph's `whatIfAnalysisReasons`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The policy applies.
    NotSet,
    /// A condition the sign-in gives too little information for.
    NotEnoughInformation,
    /// The policy has no conditions object.
    InvalidPolicy,
    /// Users, groups, roles.
    Users,
    /// Target resources.
    Application,
    /// User actions.
    UserActions,
    /// Authentication context.
    AuthenticationContext,
    /// Device platforms.
    DevicePlatform,
    /// Device filter.
    Devices,
    /// Client app types.
    ClientApps,
    /// Locations.
    Location,
    /// Sign-in risk.
    SignInRisk,
    /// User risk.
    UserRisk,
    /// Insider risk.
    InsiderRisk,
    /// Authentication flows.
    AuthenticationFlow,
    /// Neither grant nor session controls.
    EmptyPolicy,
    /// The policy is disabled.
    PolicyNotEnabled,
}

impl Reason {
    /// Graph's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotSet => "notSet",
            Reason::NotEnoughInformation => "notEnoughInformation",
            Reason::InvalidPolicy => "invalidPolicy",
            Reason::Users => "users",
            Reason::Application => "application",
            Reason::UserActions => "userActions",
            Reason::AuthenticationContext => "authenticationContext",
            Reason::DevicePlatform => "devicePlatform",
            Reason::Devices => "devices",
            Reason::ClientApps => "clientApps",
            Reason::Location => "location",
            Reason::SignInRisk => "signInRisk",
            Reason::UserRisk => "userRisk",
            Reason::InsiderRisk => "insiderRisk",
            Reason::AuthenticationFlow => "authenticationFlow",
            Reason::EmptyPolicy => "emptyPolicy",
            Reason::PolicyNotEnabled => "policyNotEnabled",
        }
    }
}
