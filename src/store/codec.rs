//! How the domain's enums travel through the `Any` driver: as their one
//! string form, decoded back into the enum (a value no variant spells is a
//! decode error, never a silent default). The CHECK constraints of
//! migration 0020 keep such values out of the database in the first place.

use sqlx::any::AnyTypeInfo;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type};

use crate::domain::message::{MessageKind, MessageStatus};
use crate::domain::org::Channel;
use crate::domain::verification::{
    Attestation, CallStatus, ChallengeStatus, GrantBasis, Verification,
};
use crate::store::principals::Role;

macro_rules! text_column {
    ($($t:ty),+ $(,)?) => {$(
        impl Type<Any> for $t {
            fn type_info() -> AnyTypeInfo {
                <str as Type<Any>>::type_info()
            }
            fn compatible(ty: &AnyTypeInfo) -> bool {
                <String as Type<Any>>::compatible(ty)
            }
        }
        impl<'q> Encode<'q, Any> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut <Any as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'q, Any>>::encode(self.as_str(), buf)
            }
        }
        impl<'r> Decode<'r, Any> for $t {
            fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let s = <&str as Decode<'r, Any>>::decode(value)?;
                <$t>::parse(s).ok_or_else(|| {
                    format!(concat!("stored value {:?} is not a ", stringify!($t)), s).into()
                })
            }
        }
    )+};
}

text_column!(
    Attestation,
    CallStatus,
    Channel,
    ChallengeStatus,
    GrantBasis,
    MessageKind,
    MessageStatus,
    Role,
    Verification,
);

#[cfg(test)]
mod tests;
