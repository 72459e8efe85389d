//! The argon2 ceiling for the benchmark (bench/run.py): how many PIN
//! verifies per second one core does with the default cost (m=19456 KiB,
//! t=2, p=1), verifying against the hasher's dummy hash as a check does,
//! in a working memory the thread keeps (as the server's hashing threads do).
//! With THREADS > 1 it hashes on that many threads at once and prints the
//! rate per thread (lower than one thread's where the cores share hardware
//! or memory bandwidth).
//!
//!     cargo run --release --example argon2_rate -- [SECONDS] [THREADS]

use std::time::{Duration, Instant};

use pingate::domain::pin::{HashMemory, Pin, PinHasher};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map_or(Ok(3), |a| a.parse())?;
    let threads: usize = args.next().map_or(Ok(1), |a| a.parse())?;
    let defaults = pingate::config::Settings::default().pin;
    let pepper = [7u8; 32];
    let hasher = PinHasher::with_params(
        &pepper,
        defaults.argon2_memory_kib,
        defaults.argon2_iterations,
        1,
    )?;
    let pin = Pin::parse_input("000000", 6)?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let total: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut memory = HashMemory::new();
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let _ = hasher.verify_in(&mut memory, &pin, hasher.dummy_hash());
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    let per_thread = total as f64 / threads.max(1) as f64;
    println!("{:.1}", per_thread / started.elapsed().as_secs_f64());
    Ok(())
}
