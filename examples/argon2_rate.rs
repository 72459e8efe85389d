//! The argon2 ceiling for the benchmark (bench/run.py): how many PIN
//! verifies per second one core does with the default cost (m=19456 KiB,
//! t=2, p=1), verifying against the hasher's dummy hash as a check does.
//!
//!     cargo run --release --example argon2_rate -- [SECONDS]

use std::time::{Duration, Instant};

use pingate::domain::pin::{Pin, PinHasher};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: u64 = std::env::args().nth(1).map_or(Ok(3), |a| a.parse())?;
    let defaults = pingate::config::Settings::default().pin;
    let pepper = [7u8; 32];
    let hasher = PinHasher::with_params(
        &pepper,
        defaults.argon2_memory_kib,
        defaults.argon2_iterations,
        1,
    )?;
    let pin = Pin::parse_input("000000", 6)?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut n = 0u64;
    while Instant::now() < deadline {
        let _ = hasher.verify(&pin, hasher.dummy_hash());
        n += 1;
    }
    println!("{:.1}", n as f64 / started.elapsed().as_secs_f64());
    Ok(())
}
