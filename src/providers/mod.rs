//! Telephony providers, pure where possible: one folder per provider (twilio, telnyx, plivo) with
//! its signature check, webhook parsing into provider-neutral events, the
//! neutral IVR reply rendered into its markup, and its SMS sender. The
//! webhook handlers sit at the HTTP edge (`http::webhooks`) and call
//! services; the domain does not know which provider a call came through.

pub mod form;
pub mod plivo;
pub mod telnyx;
pub mod twilio;
pub mod xml;

/// The provider `pingate demo` and `pingate call simulate` play: its
/// signed webhooks for a call, and its name for what they print.
pub use twilio::caller as simulated;

use crate::config::{Settings, SmsTransport};
use crate::delivery::SenderError;
use crate::delivery::sms::SmsSender;

// `delivery` defines the sender and cannot know the providers, so the one
// constructor that maps `sms.transport` to a provider lives here.
impl SmsSender {
    /// The SMS sender `sms.transport` names.
    pub fn from_settings(s: &Settings) -> Result<SmsSender, SenderError> {
        Ok(match s.sms.transport {
            SmsTransport::Twilio => {
                SmsSender::Api(Box::new(twilio::sms::TwilioSms::from_settings(s)?))
            }
            SmsTransport::Telnyx => {
                SmsSender::Api(Box::new(telnyx::sms::TelnyxSms::from_settings(s)?))
            }
            SmsTransport::Plivo => {
                SmsSender::Api(Box::new(plivo::sms::PlivoSms::from_settings(s)?))
            }
            SmsTransport::File => SmsSender::file(s),
        })
    }
}
