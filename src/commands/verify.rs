//! `entractl verify SPEC`: for scheduled CI — has the tenant drifted from the spec, and will
//! Passport's password sign-in (Mac Login) work today, as a forecast without anyone's password.

use std::path::PathBuf;

use clap::Args;
use entractl_engine::Desired;
use entractl_engine::forecast::forecast_now;
use entractl_engine::render::{Format, Verification, verification};

use super::plan::read_and_plan;
use crate::args::{ColorChoice, FormatArg, GraphArgs};
use crate::error::{CommandError, Outcome};
use crate::interrupt::Interrupt;
use crate::{output, session};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The spec file.
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// Output format: text for people, json for machines, markdown for an issue or a job summary.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    #[command(flatten, next_help_heading = "Microsoft Graph and sign-in")]
    pub graph: GraphArgs,
}

/// Exit 0 when the tenant matches the spec and the forecast says every user's sign-in works, 2 on
/// drift, 3 when the forecast says someone's password sign-in will fail (whatever the drift).
pub fn run(args: &VerifyArgs, color: ColorChoice) -> Result<Outcome, CommandError> {
    let g = &args.graph;
    let (loaded, _) = session::load_spec(&args.spec)?;
    let desired = Desired::from_spec(&loaded.spec, g.authority_url.as_deref()).locate(&loaded);
    let client = session::spec_client(&desired, g)?;
    session::announce(&desired, &client);
    let rt = session::runtime()?;
    let (observed, plan) = rt.block_on(async {
        let interrupt = Interrupt::listen(false);
        read_and_plan(&client, &desired, &interrupt).await
    })?;
    let now = forecast_now(&desired, &observed);
    let v = Verification {
        plan: &plan,
        now: now.as_ref(),
    };
    let format = args.format.format();
    let painted = format == Format::Text && session::color_stdout(color);
    output::stdout(&verification(&v, format, painted))?;
    Ok(if v.sign_in_fails() {
        Outcome::SignInWillFail
    } else if plan.has_changes() {
        Outcome::ChangesPresent
    } else {
        Outcome::Success
    })
}
