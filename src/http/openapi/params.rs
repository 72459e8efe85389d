//! Parameters shared by several operations: the resource ids in paths and
//! the providers' signature headers, each written once and named in the
//! handlers' `params(..)`.

use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Required, Schema};

use crate::ivr::Step;

fn string(pattern: Option<&str>, max_length: Option<usize>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(pattern)
        .max_length(max_length)
        .into()
}

fn param(
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

        impl IntoParams for $name {
            fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
                $params
            }
        }
    )+};
}

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
    /// What a Twilio request is signed with (`providers::twilio::signature`).
    TwilioSigned => twilio_signed();
    /// What a Telnyx request is signed with (`providers::telnyx::signature`).
    TelnyxSigned => telnyx_signed();
    /// What a Plivo request is signed with (`providers::plivo::signature`).
    PlivoSigned => plivo_signed();
    /// The `step` of a gather URL (`webhooks::step_of`).
    GatherStep => vec![gather_step()];
}

fn org_id() -> Parameter {
    let schema = Ref::from_schema_name("OrgId").into();
    param("org_id", ParameterIn::Path, true, None, schema)
}

fn twilio_signed() -> Vec<Parameter> {
    vec![
        param(
            "X-Twilio-Signature",
            ParameterIn::Header,
            true,
            Some(
                "Base64 HMAC-SHA1 keyed with the account's auth token over the URL and the sorted POST parameters (or HMAC-SHA256 with the key named by `X-Twilio-Webhooks-Signature-Settings`).",
            ),
            string(None, None),
        ),
        param(
            "X-Twilio-Webhooks-Signature-Settings",
            ParameterIn::Header,
            false,
            Some(
                "`key=<id>,algorithm=HMAC_SHA256`: sign with the configured webhook key `<id>` instead.",
            ),
            string(None, None),
        ),
        param(
            "I-Twilio-Idempotency-Token",
            ParameterIn::Header,
            false,
            Some(
                "Twilio's delivery id: a retried delivery carrying a token already seen changes nothing (status callbacks without it are de-duplicated by `CallSid`, `CallStatus` and `SequenceNumber`; voice calls by `CallSid`).",
            ),
            string(None, Some(200)),
        ),
        param(
            "bodySHA256",
            ParameterIn::Query,
            false,
            Some(
                "For JSON bodies only: hex SHA-256 of the raw body; the signature then covers the URL alone.",
            ),
            string(Some("^[0-9a-fA-F]{64}$"), None),
        ),
    ]
}

fn telnyx_signed() -> Vec<Parameter> {
    vec![
        param(
            "telnyx-signature-ed25519",
            ParameterIn::Header,
            true,
            Some(
                "Base64 Ed25519 signature, by the account's key (`telnyx.public_key` checks it), of `telnyx-timestamp` + `|` + the raw body.",
            ),
            string(None, None),
        ),
        param(
            "telnyx-timestamp",
            ParameterIn::Header,
            true,
            Some(
                "Unix time in seconds when Telnyx signed the request; more than 300 s from pingate's clock (either way) is refused.",
            ),
            string(Some("^[0-9]{1,12}$"), None),
        ),
    ]
}

fn plivo_signed() -> Vec<Parameter> {
    vec![
        param(
            "X-Plivo-Signature-V3",
            ParameterIn::Header,
            true,
            Some(
                "Base64 HMAC-SHA256, keyed by `plivo.auth_token`, of the URL Plivo called (`server.public_base_url` + path, its query sorted) + the sorted POST parameters (name + value, no separators) + `.` + `X-Plivo-Signature-V3-Nonce`, as `plivo.utils.signature_v3` computes it. Several comma-separated values may be sent; one must match.",
            ),
            string(None, None),
        ),
        param(
            "X-Plivo-Signature-V3-Nonce",
            ParameterIn::Header,
            true,
            Some(
                "Plivo's one-time nonce, part of the signed text. A nonce seen before is a replay and is refused.",
            ),
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(128))
                .into(),
        ),
    ]
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
