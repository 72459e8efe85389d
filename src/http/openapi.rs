//! The OpenAPI document served at `/openapi.json`, generated from the code:
//! each handler's `#[utoipa::path]` (route, parameters, body, answers,
//! security, roles), the request and response types' `ToSchema`, and the
//! shared parts here (problem answers, parameters, schemas of validated
//! values). A route mounted but missing from `paths(..)` below fails the
//! route-coverage test (tests/api/openapi/routes.rs), and the reverse.
//!
//! Adding a route: annotate its handler with `#[utoipa::path(..)]` (copy a
//! neighbour's) and name the handler in `paths(..)` below (a webhook: in
//! its provider's `Api` in `http/webhooks/<provider>.rs`).

pub mod params;
pub mod problem;
pub mod schemas;

use std::sync::OnceLock;

use utoipa::OpenApi;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::schema::{Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{InfoBuilder, ServerBuilder};
use utoipa::openapi::{RefOr, Required};

use super::{audit, calls, grants, lockouts, ops, orgs, overrides, principals};

#[derive(OpenApi)]
#[openapi(
    tags(
        (name = "calls", description = "Agent API: calls in progress and their verification."),
        (name = "challenges", description = "Agent API: PIN challenges."),
        (name = "grants", description = "Grants: agents and admins; introspection for support tooling."),
        (name = "audit", description = "Reviewer API: the tamper-evident audit trail."),
        (name = "orgs", description = "Admin API: organisation profiles."),
        (name = "lockouts", description = "Admin API: callers locked out of PIN verification."),
        (name = "principals", description = "Admin API: agents, reviewers and administrators, and their tokens."),
        (name = "operations", description = "Health, readiness, metrics, this document."),    ),
    paths(
        ops::healthz,
        ops::readyz,
        ops::metrics,
        ops::openapi,
        calls::list_calls,
        calls::get_call,
        calls::attach_org,
        calls::create_challenge,
        calls::trusted_grant,
        calls::take,
        calls::get_challenge,
        calls::resend,
        calls::cancel_challenge,
        calls::check,
        grants::get_grant,
        grants::revoke,
        grants::introspect,
        audit::list,
        audit::export_events,
        audit::verify,
        audit::list_checkpoints,
        audit::create_checkpoint,
        audit::latest_checkpoint,
        audit::inclusion_proof,
        audit::consistency_proof,
        audit::public_key,
        lockouts::list,
        lockouts::reset,
        orgs::list,
        orgs::create,
        orgs::read,
        orgs::replace,
        orgs::remove,
        orgs::add_number,
        orgs::remove_number,
        overrides::grant,
        principals::list,
        principals::create,
        principals::disable,
        principals::rotate,
    ),
    components(
        schemas(
            problem::Problem,
            problem::ConflictProblem,
            problem::ValidationProblem,
            schemas::ExportFormat,
            crate::audit::event::Outcome,
        ),
        responses(
        problem::BadRequest,
        problem::Unauthenticated,
        problem::Forbidden,
        problem::BadSignature,
        problem::NotFound,
        problem::Conflict,
        problem::Validation,
        problem::OrgValidation,
        problem::TooManyRequests,
        problem::PayloadTooLarge,
        problem::UnsupportedMediaType,
        problem::NotConfigured,
        problem::Internal,
        problem::HashQueueFull,
        ),
    ),
    modifiers(&Document)
)]
struct ApiDoc;

/// What the attributes cannot say: the document's info, server and the
/// bearer scheme with its roles.
struct Document;

impl utoipa::Modify for Document {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.info = InfoBuilder::new()
            .title("pingate")
            .version(env!("CARGO_PKG_VERSION"))
            .description(Some(DESCRIPTION))
            .build();
        // OpenAPI 3.1's `info.summary`, which utoipa's `Info` has no field for.
        doc.info.extensions = Some(Extensions::from_iter([("summary", SUMMARY)]));
        doc.servers = Some(vec![
            ServerBuilder::new()
                .url("/")
                .description(Some(SERVER))
                .build(),
        ]);
        let bearer = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(BEARER))
            .build();
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearerAuth", SecurityScheme::Http(bearer));
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

/// utoipa writes `request_body(content = Option<T>)` as a `T`-or-null
/// schema without `required`; an optional body is absent, not `null`.
fn optional_body(body: &mut RequestBody) {
    if body.required.is_some() {
        return;
    }
    body.required = Some(Required::False);
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else {
            continue;
        };
        if let Some(RefOr::T(Schema::OneOf(one_of))) = &content.schema
            && let [inner, RefOr::T(Schema::Object(null))] = one_of.items.as_slice()
            && null.schema_type == SchemaType::Type(Type::Null)
        {
            content.schema = Some(inner.clone());
        }
    }
}

fn is_empty(requirement: &SecurityRequirement) -> bool {
    *requirement == SecurityRequirement::default()
}

/// The document as a value.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(super::webhooks::openapi());
    let webhooks = TagBuilder::new()
        .name("webhooks")
        .description(Some(super::webhooks::OPENAPI_TAG))
        .build();
    doc.tags.get_or_insert_with(Vec::new).insert(0, webhooks);
    finish(&mut doc);
    doc
}

/// What utoipa writes differently from what the document means.
fn finish(doc: &mut utoipa::openapi::OpenApi) {
    // utoipa writes `security(())` as `[{}]`; `[]` says "no token" plainly.
    for item in doc.paths.paths.values_mut() {
        for op in operations(item) {
            if op.security.as_ref().is_some_and(|s| s.iter().all(is_empty)) {
                op.security = Some(Vec::new());
            }
            if let Some(RefOr::T(body)) = &mut op.request_body {
                optional_body(body);
            }
        }
    }
}

/// The document as served: built once, pretty-printed JSON.
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        document()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

const SUMMARY: &str = "Telephony and PIN verification gateway for phone-support desks.";

const DESCRIPTION: &str = "pingate receives the telephony provider's call webhooks, matches the caller against organisation profiles, sends one-time PINs to an organisation's **registered** contacts (never to a destination named on the call), issues short-lived access grants to the agent who verified the caller, and keeps a tamper-evident audit log.\n\nConventions: resources are JSON; times are RFC 3339 UTC; lists answer `{\"items\": [...], \"next\": CURSOR|null}`. Request bodies refuse unknown fields (400). Errors are `application/problem+json` (RFC 9457) with a stable `type` `urn:pingate:problem:<slug>`; 409 adds `state`, 422 adds `errors`, 429 sends `Retry-After`. Every answer carries `X-Request-Id`.\n\nSecrets: no operation ever returns a PIN. A grant's token appears once, in the answer that issues it. Bearer tokens and grant tokens are stored only as hashes.";

const BEARER: &str = "`Authorization: Bearer <token>`. Tokens are created with `pingate agent add NAME --role agent|reviewer|admin`, which prints the token once; pingate keeps only its hash. Each principal has one role, and each route group accepts the roles in its operations' `x-pingate-roles`:\n\n- `agent`: the agent API (calls, challenges, PIN checks, trusted-number grants) and their own grants.\n- `reviewer`: the audit API only. A reviewer cannot issue challenges and never sees a PIN.\n- `admin`: organisation profiles, PIN lockouts, and any grant (read, revoke, introspect).\n\nA token of one role never works as another. A missing or unknown token answers 401 (audited `authn_token_fail`); a token of the wrong role 403 (audited `authz_fail`).";

const SERVER: &str = "This server (`server.public_base_url` behind a proxy).";
