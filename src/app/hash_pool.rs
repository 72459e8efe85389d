//! Argon2 work on a few dedicated threads, never on the async workers and
//! never on tokio's blocking pool. The threads run at a lower scheduling
//! priority (`nice`), so when webhooks and PIN checks both want the CPU the
//! kernel gives it to the webhooks; when the webhooks are idle the hashing
//! threads still get whole cores.
//!
//! How many threads (`pin.hash_concurrency`, default 2 = the cores of the
//! machine it was measured on): one per core. Our argon2id has one lane
//! (p=1), so a hash is strictly serial and fills exactly one core for its
//! whole time (about 15 ms at the default cost, 66-69 per second per core
//! here). PIN checks therefore top out at min(threads, cores) × that rate:
//! fewer threads than cores leave the ceiling out of reach, more only
//! time-slice the same cores and each keeps its own 19 MiB block resident.
//!
//! Each thread owns one argon2 memory (`HashMemory`) for its life. A fresh
//! block per hash cost, measured with `bench/probe.py memory` before the
//! change, about 3,700 page faults per new PIN and 1,900 per check (the
//! kernel zeroing and mapping 19 MiB again), and left the freed blocks
//! resident in glibc's per-thread heaps: 380 MiB peak after 40 new PINs.
//!
//! Why `nice` 10 and not SCHED_IDLE or a paced pool: CFS weighs a thread
//! at nice 10 at 110 against 1024 at nice 0, so a webhook worker that
//! shares a core with a hash gets about 90 % of it and preempts hashing
//! within a scheduler tick, yet hashing is never starved the way
//! SCHED_IDLE threads are under steady load, and no rate has to be
//! guessed. Nice 19 (weight 15) would buy webhooks a few more percent at
//! the cost of checks stalling under a webhook burst.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

use tokio::sync::oneshot;

use crate::domain::pin::{HashMemory, PinHasher};

/// A job gets the hasher and its thread's argon2 memory.
type Job = Box<dyn FnOnce(&PinHasher, &mut HashMemory) + Send>;

/// The hashing threads; dropping the pool lets them end.
pub struct HashPool {
    jobs: mpsc::Sender<Job>,
}

#[derive(Debug, thiserror::Error)]
pub enum HashWorkError {
    #[error("the hash pool is closed")]
    Closed,
    #[error("a hash task failed")]
    Task,
}

impl HashPool {
    /// `threads` hashing threads at `nice` (0 keeps the process's priority).
    pub fn start(hasher: Arc<PinHasher>, threads: usize, nice: i32) -> std::io::Result<HashPool> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let (queue, hasher) = (Arc::clone(&queue), Arc::clone(&hasher));
            std::thread::Builder::new()
                .name(format!("pingate-hash-{n}"))
                .spawn(move || {
                    lower_priority(nice);
                    work(&queue, &hasher);
                })?;
        }
        Ok(HashPool { jobs })
    }

    /// Runs `f` on a hashing thread, in the caller's tracing span.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PinHasher, &mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, HashWorkError> {
        let (done, result) = oneshot::channel();
        let span = tracing::Span::current();
        let job: Job = Box::new(move |h, m| {
            let _ = done.send(span.in_scope(|| f(h, m)));
        });
        self.jobs.send(job).map_err(|_| HashWorkError::Closed)?;
        result.await.map_err(|_| HashWorkError::Task)
    }
}

/// Takes jobs until the pool is dropped. A job that panics loses only its
/// own answer (its caller hears `Task`); the thread goes on. The thread's
/// argon2 memory is allocated by its first job and reused by every later
/// one (see `HashMemory`: a block per hash is what made RSS climb).
fn work(queue: &Mutex<mpsc::Receiver<Job>>, hasher: &PinHasher) {
    let mut memory = HashMemory::new();
    loop {
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(hasher, &mut memory)));
    }
}

/// Lowers this thread's priority (on Linux `setpriority` on a thread id
/// affects that thread alone). A failure only costs the preference.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let me = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(me), nice) {
            tracing::warn!(error = %e, nice, "could not lower the hashing threads' priority");
        }
    }
}
