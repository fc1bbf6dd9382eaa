//! The one step of "Customize behavior" that Microsoft offers no API for: choosing the placeholder
//! app on the Baseline scopes settings page. Until the tenant's setting (read from the
//! undocumented `advancedSettings.baselineScopes`) names the managed placeholder, the plan prints
//! the step in words an admin can follow (a `portal-step` note) and a `security-downgrade`
//! warning of what the step does: it restores the legacy behaviour for every public client that
//! asks only for baseline scopes, not just Passport. Sources: entra-docs
//! `docs/identity/conditional-access/concept-enforcement-resource-exclusions.md` ("Customize
//! behavior"). Pure.

use entractl_graph::resource::conditional_access_policy::list_contains as contains;
use entractl_graph::resource::conditional_access_settings::BaselineScopes;

use super::ca_remedy::{PolicyRemedy, Remedy};
use super::context::PlanContext;
use super::kind::PlanOut;
use crate::core::observed::BaselineRead;
use crate::core::plan::{Note, NoteKind, Risk};

/// Where an admin changes the setting (Microsoft's direct link: the page has no menu entry).
pub const SETTINGS_LINK: &str = "https://aka.ms/BaselineScopesSettingsUX";

/// The portal step and its warning, unless the setting already names the managed placeholder
/// (or the placeholder is excluded from no policy, so choosing it would gain nothing).
pub fn portal_notes(cx: &PlanContext<'_>, all: &[PolicyRemedy<'_>], out: &mut PlanOut) {
    let Some(p) = cx.placeholder else {
        return;
    };
    let id = cx.placeholder_app_id();
    let covered: Vec<String> = all
        .iter()
        .filter(|pr| {
            pr.added().contains(&Remedy::Placeholder)
                || id.is_some_and(|id| contains(&pr.policy.applications("excludeApplications"), id))
        })
        .map(|pr| format!("\"{}\"", pr.demand.display_name))
        .collect();
    let baseline = cx.observed.forecast.as_ref().map(|f| &f.baseline);
    if covered.is_empty() || chosen(baseline, id) {
        return;
    }
    let policies = covered.join(", ");
    let app = match id {
        Some(id) => format!("\"{}\" (appId {id})", p.desired.display_name),
        None => format!(
            "\"{}\" (its appId is known once apply has created it)",
            p.desired.display_name
        ),
    };
    out.notes.push(Note {
        kind: NoteKind::PortalStep,
        risks: Vec::new(),
        message: format!(
            "choose the placeholder app on the Baseline scopes settings page, a step Microsoft offers no API for: sign in to the Microsoft Entra admin center (https://entra.microsoft.com) as at least a Conditional Access Administrator, open Conditional Access's Baseline scopes settings with Microsoft's direct link {SETTINGS_LINK} (the page is reached only through it), select \"Customize behavior\", then Save, and choose {app} from the list. {} `entractl verify` then reads the setting back and forecasts the sign-in",
            state(baseline, &policies)
        ),
    });
    out.notes.push(Note {
        kind: NoteKind::Warning,
        risks: vec![Risk::SecurityDowngrade],
        message: format!(
            "choosing the placeholder restores the legacy behaviour in {policies}: every public client in the tenant that asks only for baseline scopes (openid, profile, email, offline_access, User.Read and the like), not just Passport — desktop tools such as Azure CLI or Visual Studio Code too — then signs in without the MFA those policies demand. Microsoft recommends enforcement and offers \"Customize behavior\" only for scenarios that need it; Web Login (passport.mode: web-login) needs no such exception (docs/mfa.md)"
        ),
    });
}

/// Whether the setting names the managed placeholder already.
fn chosen(baseline: Option<&BaselineRead>, id: Option<&str>) -> bool {
    match (baseline, id) {
        (
            Some(BaselineRead::Read {
                setting: BaselineScopes::Custom(x),
            }),
            Some(id),
        ) => x.eq_ignore_ascii_case(id),
        _ => false,
    }
}

/// The tenant's setting today, and what it means until the step is done.
fn state(baseline: Option<&BaselineRead>, policies: &str) -> String {
    let until = format!(
        "until this step is done, Passport's sign-in is evaluated against Windows Azure Active Directory, and the sign-in forecast counts {policies} as demanding MFA of it"
    );
    match baseline {
        None => format!("The setting was not read: {until}."),
        Some(BaselineRead::Unreadable { reason }) => format!(
            "The setting could not be read ({reason}), so entractl cannot tell whether this is done: {until}."
        ),
        Some(BaselineRead::Read { setting }) => match setting {
            BaselineScopes::Custom(other) => format!(
                "The setting names another app today, {other}, not the managed placeholder: sign-ins that ask only for baseline scopes are evaluated against that app, so {policies}, which exclude the managed placeholder, still demand MFA of Passport's sign-in."
            ),
            BaselineScopes::Disabled => format!(
                "Enforcement is disabled tenant-wide today (\"Disable enforcement\": the legacy behaviour in every policy); with the placeholder chosen, only {policies} keep it."
            ),
            BaselineScopes::Enforced | BaselineScopes::NeverChanged => {
                format!("The setting is {} today: {until}.", setting.describe())
            }
        },
    }
}
