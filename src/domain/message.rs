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

string_enum! {
    /// A provider's final word on a message it accepted, in neutral terms:
    /// each provider's adapter maps its own statuses here, and a report
    /// that is not final ("queued", "sent") maps to nothing.
    pub DeliveryOutcome {
        Delivered => "delivered",
        Undelivered => "undelivered",
        Failed => "failed",
    }
}

impl DeliveryOutcome {
    /// The status this outcome moves a sent message to.
    pub fn status(self) -> MessageStatus {
        match self {
            DeliveryOutcome::Delivered => MessageStatus::Delivered,
            DeliveryOutcome::Undelivered => MessageStatus::Undelivered,
            DeliveryOutcome::Failed => MessageStatus::Failed,
        }
    }
}

impl MessageStatus {
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
