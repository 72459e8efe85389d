//! Schemas of the view fields that are strings with a fixed set of
//! values but no enum of their own.

use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

/// `caller_kind` (`domain::phone::CallerId::kind`).
pub(super) fn caller_kind() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["e164", "withheld", "client", "sip", "other"]))
        .description(Some(
            "Only `e164` can match a registered number. `withheld` covers `anonymous`, `unknown`, `restricted`, `private`, empty and the providers' keypad sentinels.",
        ))
}

/// A nullable string that is one of `values` (or null).
fn nullable_one_of(values: &[&str], description: &str) -> ObjectBuilder {
    let values = values
        .iter()
        .map(|v| serde_json::Value::from(*v))
        .chain([serde_json::Value::Null]);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .description(Some(description))
}

/// `org_source`: how the call's org was found (`service::calls`).
pub(super) fn org_source() -> ObjectBuilder {
    nullable_one_of(
        &["number", "ivr", "agent"],
        "How the org was found: registered number, IVR account number, or named by the agent.",
    )
}

/// `severity` (`ivr`'s severity menu).
pub(super) fn severity() -> ObjectBuilder {
    nullable_one_of(
        &["A", "B", "C"],
        "The severity the caller chose (or defaulted to) on a line with severities, or null.",
    )
}
