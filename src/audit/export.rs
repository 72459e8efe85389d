//! Export formats. JSONL is one event per line in the API's JSON shape and
//! can be verified offline (`pingate audit verify --export FILE`); CSV is
//! for spreadsheets.

use bytes::Bytes;

use super::event::Event;
use crate::clock::rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

const CSV_HEADER: &str =
    "seq,at,kind,actor,org_id,call_id,challenge_id,grant_id,outcome,detail,prev_hash,hash\n";

pub fn header(format: Format) -> Option<Bytes> {
    match format {
        Format::Jsonl => None,
        Format::Csv => Some(Bytes::from_static(CSV_HEADER.as_bytes())),
    }
}

pub fn line(format: Format, e: &Event) -> Bytes {
    match format {
        Format::Jsonl => {
            let mut s = e.to_json().to_string();
            s.push('\n');
            Bytes::from(s)
        }
        Format::Csv => {
            let fields = [
                e.seq.to_string(),
                rfc3339(e.at),
                e.kind.clone(),
                e.actor.clone(),
                e.org_id.clone().unwrap_or_default(),
                e.call_id.clone().unwrap_or_default(),
                e.challenge_id.clone().unwrap_or_default(),
                e.grant_id.clone().unwrap_or_default(),
                e.outcome.clone(),
                e.detail.to_string(),
                hex::encode(e.prev_hash),
                hex::encode(e.hash),
            ];
            let mut s = fields
                .iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(",");
            s.push('\n');
            Bytes::from(s)
        }
    }
}

/// RFC 4180 quoting, and a leading quote for cells a spreadsheet would
/// otherwise run as a formula.
fn csv_field(f: &str) -> String {
    let f = if f.starts_with(['=', '+', '-', '@']) {
        format!("'{f}")
    } else {
        f.to_string()
    };
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f
    }
}

#[cfg(test)]
mod tests;
