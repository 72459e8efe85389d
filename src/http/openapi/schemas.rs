//! Schemas of the types that serialise themselves: the domain's string
//! enums (their values from the enums' own `ALL`), validated values
//! (`E164`, `OrgId`) and the documents answered as text (TwiML, TeXML,
//! signed notes, keys).

use std::borrow::Cow;

use serde_json::Value;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::audit::event::Outcome;
use crate::domain::message::{MessageKind, MessageStatus};
use crate::domain::org::{Channel, OrgId};
use crate::domain::phone::E164;
use crate::domain::verification::{CallStatus, ChallengeStatus, GrantBasis, Verification};
use crate::service::views::Page;
use crate::store::principals::Role;

pub(crate) fn text(
    description: Option<String>,
    pattern: Option<&str>,
    examples: &[&str],
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(description)
        .pattern(pattern)
        .examples(examples.iter().copied())
        .into()
}

fn one_of<'a>(values: impl Iterator<Item = &'a str>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .into()
}

/// `impl ToSchema` for a type, under a component name.
macro_rules! schemas {
    ($($ty:ty => $name:ident => $schema:expr;)+) => {$(
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                $schema
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }
        }
    )+};
}
pub(crate) use schemas;

/// A string enum's values, from its `ALL`.
macro_rules! enum_values {
    ($ty:ty) => {
        one_of(<$ty>::ALL.iter().map(|v| v.as_str()))
    };
}

schemas! {
    Channel => Channel => enum_values!(Channel);
    Verification => Verification => enum_values!(Verification);
    CallStatus => CallStatus => enum_values!(CallStatus);
    ChallengeStatus => ChallengeStatus => enum_values!(ChallengeStatus);
    MessageKind => MessageKind => enum_values!(MessageKind);
    MessageStatus => MessageStatus => enum_values!(MessageStatus);
    GrantBasis => GrantBasis => enum_values!(GrantBasis);
    Role => Role => enum_values!(Role);
    Outcome => Outcome => one_of([Outcome::Success, Outcome::Failure].into_iter().map(Outcome::as_str));
    ExportFormat => ExportFormat => one_of(["jsonl", "csv"].into_iter());
    E164 => E164 => text(None, Some("^\\+[1-9][0-9]{1,14}$"), &["+14155550100"]);
    OrgId => OrgId => ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$"))
        .max_length(Some(crate::domain::org::MAX_ORG_ID_LEN))
        .examples(["contoso"])
        .into();
    CheckpointText => CheckpointText => text(Some("A C2SP signed note: `<origin>\\n<size>\\n<base64 root>\\ntimestamp <unix seconds>\\n\\n— <origin> <base64(key id ‖ signature)>\\n`.".into()), None, &[]);
    VerifierKey => VerifierKey => text(None, Some("^[^+\\s]+\\+[0-9a-f]{8}\\+[A-Za-z0-9+/=]+$"), &["pingate+1a2b3c4d+AZ3x..."]);
}

/// A C2SP signed note, as `audit::checkpoint` writes it.
pub struct CheckpointText;
/// `GET /v1/audit/export?format=`: `audit::export::Format`'s names.
pub struct ExportFormat;
/// The checkpoint verifier key (`checkpointer::public_key`).
pub struct VerifierKey;

/// A page of `T`s, named after them (`CallSummaryList`); `next` is a
/// cursor of type `C` or null on the last page.
impl<T: ToSchema, C: PartialSchema> PartialSchema for Page<T, C> {
    fn schema() -> RefOr<Schema> {
        let items = ArrayBuilder::new().items(Ref::from_schema_name(T::name()));
        let next = OneOfBuilder::new()
            .item(C::schema())
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .description(Some(
                "Pass as the listing's cursor parameter (named in its description); null on the last page.",
            ));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("items", items)
            .required("items")
            .property("next", next)
            .required("next")
            .into()
    }
}

impl<T: ToSchema, C: PartialSchema> ToSchema for Page<T, C> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("{}List", T::name()))
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((T::name().into_owned(), T::schema()));
        T::schemas(schemas);
    }
}

/// One event of the tamper-evident log. `hash` is SHA-256 of the event's canonical encoding (which includes `prev_hash`). Phone numbers and addresses are pseudonymised or masked; no PIN, token or secret appears.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AuditEvent {
    /// Gapless, one total order.
    #[schema(minimum = 1)]
    seq: i64,
    /// RFC 3339, UTC.
    #[schema(format = DateTime)]
    at: String,
    #[schema(examples(
        "call_received",
        "challenge_created",
        "authn_pin_fail",
        "grant_issued",
        "authn_webhook_signature_fail",
        "authz_fail",
        "retention_run"
    ))]
    kind: String,
    #[schema(examples("agent:alice", "provider:<name>", "system"))]
    actor: String,
    #[schema(required = true)]
    org_id: Option<String>,
    #[schema(required = true)]
    call_id: Option<String>,
    #[schema(required = true)]
    challenge_id: Option<String>,
    #[schema(required = true)]
    grant_id: Option<String>,
    #[schema(value_type = Outcome)]
    outcome: String,
    #[schema(value_type = Object)]
    detail: Value,
    /// SHA-256, lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    prev_hash: String,
    /// SHA-256, lowercase hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    hash: String,
}
