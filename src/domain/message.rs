//! Outbox messages as the rules see them: what a message is for, where it
//! stands, and how a provider's delivery report moves it (forward only).

use crate::domain::string_enum::string_enum;

string_enum! {
    /// What a queued message is for.
    pub MessageKind {
        Pin => "pin",
        GrantNotice => "grant_notice",
        LockoutNotice => "lockout_notice",
    }
}

string_enum! {
    /// Where a message stands: queued → sending → sent → delivered,
    /// undelivered or failed; or failed, dead (retries spent) or cancelled
    /// (its challenge ended) before it went out.
    pub MessageStatus {
        Queued => "queued",
        Sending => "sending",
        Sent => "sent",
        Delivered => "delivered",
        Undelivered => "undelivered",
        Failed => "failed",
        Dead => "dead",
        Cancelled => "cancelled",
    }
}

impl MessageStatus {
    /// The status a provider's delivery report moves a sent message to,
    /// or `None` for a report that is not a final answer ("queued", "sent").
    pub fn from_report(provider_status: &str) -> Option<MessageStatus> {
        match provider_status {
            "delivered" | "read" => Some(MessageStatus::Delivered),
            "undelivered" => Some(MessageStatus::Undelivered),
            "failed" => Some(MessageStatus::Failed),
            _ => None,
        }
    }

    /// The message will not reach its destination: for a PIN, the cue to
    /// try the org's other channel.
    pub fn failed_for_good(self) -> bool {
        matches!(
            self,
            MessageStatus::Undelivered | MessageStatus::Failed | MessageStatus::Dead
        )
    }

    /// Still waiting to be sent: its sealed body must be kept.
    pub fn awaits_sending(self) -> bool {
        matches!(self, MessageStatus::Queued | MessageStatus::Sending)
    }
}

#[cfg(test)]
mod tests;
