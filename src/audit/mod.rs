//! The tamper-evident audit trail: the event model and its canonical
//! encoding, the hash chain, RFC 6962 Merkle trees and signed checkpoints.
//! Everything here is pure; `store::audit` persists it.

pub mod anchor;
pub mod chain;
pub mod checkpoint;
pub mod event;
pub mod export;
pub mod export_line;
pub mod merkle;
pub mod pseudonym;
