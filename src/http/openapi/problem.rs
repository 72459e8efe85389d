//! The problem+json answers (RFC 9457) every operation shares: their
//! schemas and the named responses the handlers' annotations refer to
//! (`(status = 404, response = problem::NotFound)`). `http/error.rs` writes
//! these bodies; the schemas say what it writes.

use std::collections::BTreeMap;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{Content, Ref, RefOr, Response, ResponseBuilder};

use utoipa::{IntoResponses, ToResponse, ToSchema};

use crate::http::error::PROBLEM_JSON;

/// RFC 9457 problem details. `type` is stable per cause; `detail` never contains a PIN, token or secret. Served as `application/problem+json`.
#[derive(ToSchema)]
#[allow(dead_code)] // Describes what `http/error.rs` serialises.
pub struct Problem {
    #[schema(
        pattern = "^urn:pingate:problem:[a-z0-9-]+$",
        examples("urn:pingate:problem:not-found")
    )]
    r#type: String,
    title: String,
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    detail: String,
}

/// A 409: the problem and, when there is one, the resource's state.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ConflictProblem {
    #[serde(flatten)]
    problem: Problem,
    /// The resource's current status, e.g. `expired`, `locked`, `ended`.
    #[schema(nullable = false)]
    state: Option<String>,
    /// With `handled-by-another-agent`: the agent handling the call.
    #[schema(nullable = false)]
    handled_by: Option<String>,
    /// With `grant-exists`: the agent's active grant on the call.
    #[schema(nullable = false)]
    grant_id: Option<String>,
}

/// A 422: the problem and every invalid field.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ValidationProblem {
    #[serde(flatten)]
    problem: Problem,
    #[schema(min_items = 1)]
    errors: Vec<FieldError>,
}

#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FieldError {
    /// Org profiles only: the entry's id as written, or `#N`.
    #[schema(nullable = false, required = false)]
    org: Option<String>,
    /// Dotted path, e.g. `registered_numbers[1]`, `contacts.email`.
    field: String,
    message: String,
}

/// `Retry-After`, required on the answers that send it.
fn retry_after() -> (&'static str, utoipa::openapi::header::Header) {
    let mut header = HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        ))
        .description(Some("Seconds until a retry may succeed."))
        .build();
    // OpenAPI's header `required`, which utoipa's `Header` has no field for.
    header.extensions = Some(Extensions::from_iter([("required", true)]));
    ("Retry-After", header)
}

fn www_authenticate() -> (&'static str, utoipa::openapi::header::Header) {
    let schema = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["Bearer"]));
    (
        "WWW-Authenticate",
        HeaderBuilder::new().schema(Some(schema)).build(),
    )
}

macro_rules! problem_responses {
    ($($name:ident, $schema:ident, $description:literal $(, $header:ident)*;)+) => {$(
        #[doc = $description]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                let content = Content::new(Some(Ref::from_schema_name(stringify!($schema))));
                #[allow(unused_mut)]
                let mut response = ResponseBuilder::new()
                    .description($description)
                    .content(PROBLEM_JSON, content);
                $(
                    let (name, header) = $header();
                    response = response.header(name, header);
                )*
                (stringify!($name), response.build().into())
            }
        }
    )+};
}

problem_responses! {
    BadRequest, Problem, "Malformed request (`urn:pingate:problem:bad-request`): unparseable JSON or form, a missing or mistyped field, an unknown field in a body (bodies refuse unknown fields) or an unknown query parameter.";
    Unauthenticated, Problem, "No bearer token, or an unknown one (`urn:pingate:problem:unauthenticated`). Audited as `authn_token_fail`.", www_authenticate;
    Forbidden, Problem, "The token's role may not use this route (`urn:pingate:problem:forbidden`). Audited as `authz_fail`.";
    BadSignature, Problem, "Missing or invalid webhook signature, the provider's signature headers (`urn:pingate:problem:bad-signature`). Audited as `authn_webhook_signature_fail`; nothing else is recorded.";
    NotFound, Problem, "No such resource (`urn:pingate:problem:not-found`).";
    Conflict, ConflictProblem, "The resource's state forbids the action. `type` names the cause (e.g. `urn:pingate:problem:call-ended`, `challenge-not-pending`, `not-trusted`); `state` carries the resource's status when there is one.";
    Validation, ValidationProblem, "A well-formed request with an invalid value (`urn:pingate:problem:validation`); `errors` names each field.";
    OrgValidation, ValidationProblem, "The profile is invalid (`urn:pingate:problem:validation`); `errors` lists every mistake by field, as `pingate org import` does.";
    TooManyRequests, Problem, "Refused by a limit (`urn:pingate:problem:quota-exceeded`): the in-memory flood shield (per bearer token on the API, per client address on webhooks), or a database quota that holds across instances (challenges per caller, org and agent; sends per destination; the global SMS budget; PIN checks per agent; orgs per agent; a PIN lockout of the caller; the org's failure ceiling; windows roll back from now), or too many PIN hashes of this principal still in progress (`pin.hash_per_principal`, in memory). Quota refusals are audited as `excess_rate_limit_exceeded`.", retry_after;
    PayloadTooLarge, Problem, "The body exceeds `server.max_body_bytes` (`urn:pingate:problem:payload-too-large`).";
    UnsupportedMediaType, Problem, "The body is not `application/json` (`urn:pingate:problem:unsupported-media-type`).";
    NotConfigured, Problem, "The provider is not configured on this server (`urn:pingate:problem:not-configured`).";
    Internal, Problem, "The server failed (`urn:pingate:problem:internal`). The cause is logged with the request id (`X-Request-Id`), never sent.";
    HashQueueFull, Problem, "The PIN hashing queue is full (`urn:pingate:problem:unavailable`, `pin.hash_queue`): try again after `Retry-After` seconds. Nothing was charged or recorded.", retry_after;
}

/// Sets of problem answers that always go together, named in an
/// operation's `responses(..)` after its own answers.
macro_rules! problem_sets {
    ($($(#[$m:meta])* $name:ident => [$($status:literal => $response:ident),+];)+) => {$(
        $(#[$m])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$((
                    $status.to_string(),
                    Ref::from_response_name(stringify!($response)).into(),
                )),+])
            }
        }
    )+};
}

problem_sets! {
    /// Behind a bearer token (`auth::require`): no or an unknown token, the
    /// wrong role, the token's flood shield, and a failure.
    Guarded => [
        "401" => Unauthenticated,
        "403" => Forbidden,
        "429" => TooManyRequests,
        "500" => Internal
    ];
    /// A JSON body read by `ApiJson`: malformed, too large, not JSON.
    JsonBody => ["400" => BadRequest, "413" => PayloadTooLarge, "415" => UnsupportedMediaType];
    /// A provider's signed webhook: malformed, unsigned, too large, the
    /// address's flood shield, a failure, or the provider not configured.
    Webhook => [
        "400" => BadRequest,
        "403" => BadSignature,
        "413" => PayloadTooLarge,
        "429" => TooManyRequests,
        "500" => Internal,
        "503" => NotConfigured
    ];
}
