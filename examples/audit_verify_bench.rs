//! Measures audit verification on a large log. Fills a fresh SQLite
//! database with N audit events (default 100,000) through the store, with a
//! signed checkpoint every 1,000 as the server would make them, writes a
//! configuration for it, and times the same verification `pingate audit
//! verify` runs, then inclusion and consistency proofs with and without the
//! stored tiles. Then time the binary itself with the printed command.
//!
//!     cargo run --release --example audit_verify_bench -- [EVENTS] [DIR]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use pingate::app::AppState;
use pingate::audit::event::{EventKind, NewEvent, Outcome};
use pingate::clock::SystemClock;
use pingate::config::{Secret, Settings};
use pingate::service::checkpointer::{self, Checkpointer};
use pingate::service::proofs;

/// Events per write transaction: the fill is setup, not what is measured.
const BATCH: usize = 1_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let events: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let dir = args.next().map_or_else(
        || std::env::temp_dir().join(format!("pingate-bench-{events}")),
        PathBuf::from,
    );
    if dir.exists() {
        return Err(format!(
            "{} exists; remove it or name another directory",
            dir.display()
        )
        .into());
    }
    std::fs::create_dir_all(&dir)?;

    let mut settings = Settings::default();
    settings.server.data_dir = dir.join("data");
    settings.database.url =
        Secret::from(format!("sqlite://{}", dir.join("pingate.db").display()).as_str());
    settings.security.pepper = Some(Secret::from("bench-pepper-0123456789abcdef0123456789"));
    let config = toml::to_string(&serde_json::json!({
        "server": { "data_dir": settings.server.data_dir },
        "database": { "url": settings.database.url.expose() },
        "security": { "pepper": settings.security.pepper.as_ref().map(|p| p.expose()) },
    }))?;
    let config_path = dir.join("pingate.toml");
    std::fs::write(&config_path, config)?;

    let state = AppState::build(settings, Arc::new(SystemClock), None).await?;
    let started = Instant::now();
    let mut signer = Checkpointer::new(Arc::clone(&state));
    let mut written = 0;
    while written < events {
        let n = BATCH.min(events - written);
        let mut tx = state.store.begin(state.clock.now_ms()).await?;
        for i in written..written + n {
            tx.audit(sample(i));
        }
        tx.commit().await?;
        written += n;
        signer.tick().await?;
    }
    eprintln!("filled {events} events in {:.1?}", started.elapsed());

    let key = state.keys.signing.verifying_key();
    let started = Instant::now();
    let verified = checkpointer::verify_database(
        state.store.reader(),
        &state.settings.audit.origin,
        &key,
        None,
        |_| {},
    )
    .await?;
    let elapsed = started.elapsed();
    println!(
        "in-process verify: {} events, {} checkpoints in {:.2?} ({:.0} events/s)",
        verified.events,
        verified.checkpoints,
        elapsed,
        verified.events as f64 / elapsed.as_secs_f64()
    );

    // Proofs read the tiles the checkpointer stored; then the same without
    // them, which is what every proof cost before tiles.
    let size = events as u64;
    for tiles in ["with tiles", "without tiles"] {
        if tiles == "without tiles" {
            sqlx::query("DELETE FROM audit_tiles")
                .execute(state.store.reader())
                .await?;
        }
        for seq in [1, size / 2, size] {
            let started = Instant::now();
            let p = proofs::inclusion_proof(&state, seq, size).await?;
            println!(
                "inclusion proof of {seq} in {size} ({} hashes), {tiles}: {:.2?}",
                p.proof.len(),
                started.elapsed()
            );
        }
        let started = Instant::now();
        let p = proofs::consistency_proof(&state, size / 2, size).await?;
        println!(
            "consistency proof {} -> {size} ({} hashes), {tiles}: {:.2?}",
            size / 2,
            p.proof.len(),
            started.elapsed()
        );
    }
    state.store.close().await;
    println!(
        "now time the binary: time target/release/pingate --config {} audit verify",
        config_path.display()
    );
    Ok(())
}

/// Events shaped like a real flow's (ids, pseudonymised numbers, masked
/// destinations), so encoding and hashing cost what they cost in production.
fn sample(i: usize) -> NewEvent {
    let call = format!("call_{:016x}", i / 8);
    let base = |kind, outcome| {
        NewEvent::new(kind, "agent:alice", outcome)
            .org("contoso")
            .call(call.clone())
    };
    match i % 8 {
        0 => base(EventKind::CallReceived, Outcome::Success)
            .detail("caller", format!("h:{i:016x}…0123"))
            .detail("attestation", "TN-Validation-Passed-B"),
        1 => base(EventKind::CallOrgIdentified, Outcome::Success).detail("source", "ivr"),
        2 => base(EventKind::ChallengeCreated, Outcome::Success)
            .challenge(format!("chl_{i:016x}"))
            .detail("channel", "email")
            .detail("destination", "i***@contoso.example"),
        3 => base(EventKind::MessageQueued, Outcome::Success).detail("channel", "email"),
        4 => base(EventKind::MessageSent, Outcome::Success)
            .detail("provider_message_id", format!("<{i}@pingate>")),
        5 => base(EventKind::PinCheckFailed, Outcome::Failure).detail("attempts_left", 4),
        6 => base(EventKind::PinCheckApproved, Outcome::Success).challenge(format!("chl_{i:016x}")),
        _ => base(EventKind::GrantIssued, Outcome::Success)
            .grant(format!("gr_{i:016x}"))
            .detail("expires_at", "2026-11-25T06:13:07.123Z"),
    }
}
