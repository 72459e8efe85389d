//! Parameters shared by several operations: the resource ids in paths and
//! the providers' signature headers, each written once and named in the
//! handlers' `params(..)`.

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Required, Schema};

use crate::ivr::Step;

pub(crate) fn string(pattern: Option<&str>, max_length: Option<usize>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(pattern)
        .max_length(max_length)
        .into()
}

pub(crate) fn param(
    name: &str,
    at: ParameterIn,
    required: bool,
    description: Option<&str>,
    schema: RefOr<Schema>,
) -> Parameter {
    let required = if required {
        Required::True
    } else {
        Required::False
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(at)
        .required(required)
        .description(description)
        .schema(Some(schema))
        .build()
}

fn id_in_path(name: &str, prefix: &str) -> Parameter {
    let pattern = format!("^{prefix}_[0-9a-f]{{32}}$");
    param(
        name,
        ParameterIn::Path,
        true,
        None,
        string(Some(&pattern), None),
    )
}

macro_rules! path_params {
    ($($(#[$m:meta])* $name:ident => $params:expr;)+) => {$(
        $(#[$m])*
        pub struct $name;

        impl utoipa::IntoParams for $name {
            fn into_params(
                _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
            ) -> Vec<utoipa::openapi::path::Parameter> {
                $params
            }
        }
    )+};
}
pub(crate) use path_params;

path_params! {
    /// `{call_id}`.
    CallIdPath => vec![id_in_path("call_id", "call")];
    /// `{challenge_id}`.
    ChallengeIdPath => vec![id_in_path("challenge_id", "chl")];
    /// `{grant_id}`.
    GrantIdPath => vec![id_in_path("grant_id", "grt")];
    /// `{org_id}`.
    OrgIdPath => vec![org_id()];
    /// `{org_id}` and a registered `{number}`.
    OrgNumberPath => vec![
        org_id(),
        param("number", ParameterIn::Path, true, None, Ref::from_schema_name("E164").into()),
    ];
    /// A principal's `{name}`.
    PrincipalNamePath => vec![param(
        "name",
        ParameterIn::Path,
        true,
        Some("The principal's name."),
        string(Some("^[A-Za-z0-9._@-]{1,64}$"), None),
    )];
    /// The `step` of a gather URL (`webhooks::step_of`).
    GatherStep => vec![gather_step()];
}

fn org_id() -> Parameter {
    let schema = Ref::from_schema_name("OrgId").into();
    param("org_id", ParameterIn::Path, true, None, schema)
}

fn gather_step() -> Parameter {
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Step::ALL.iter().map(|s| s.as_str())))
        .into();
    param(
        "step",
        ParameterIn::Query,
        false,
        Some("The support-menu step these digits answer; absent: the account-number step."),
        schema,
    )
}
