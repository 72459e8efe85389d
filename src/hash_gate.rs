//! Admission to the argon2 pool: a bounded queue in all and a small cap per
//! principal, decided before any quota is charged or any hash runs. A
//! ticket is held until the work it admitted ends (also when that work
//! outlives the request that asked for it), so one principal can never
//! have more than its cap waiting or running.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// Why hashing work was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// The principal already has its cap of work waiting or running.
    Principal,
    /// The pool's queue is full.
    Queue,
}

#[derive(Default)]
struct InFlight {
    total: usize,
    by_principal: HashMap<String, usize>,
}

pub struct HashGate {
    queue: usize,
    per_principal: usize,
    in_flight: Mutex<InFlight>,
}

/// Admitted hashing work; dropping it frees the place.
pub struct Ticket {
    gate: Arc<HashGate>,
    principal: String,
}

impl HashGate {
    pub fn new(queue: usize, per_principal: usize) -> Arc<HashGate> {
        Arc::new(HashGate {
            queue: queue.max(1),
            per_principal: per_principal.max(1),
            in_flight: Mutex::new(InFlight::default()),
        })
    }

    /// Admits one piece of hashing work for `principal`, or says why not.
    pub fn admit(self: &Arc<Self>, principal: &str) -> Result<Ticket, Busy> {
        let mut f = self.lock();
        let mine = f.by_principal.get(principal).copied().unwrap_or(0);
        if mine >= self.per_principal {
            return Err(Busy::Principal);
        }
        if f.total >= self.queue {
            return Err(Busy::Queue);
        }
        f.total += 1;
        f.by_principal.insert(principal.to_string(), mine + 1);
        Ok(Ticket {
            gate: Arc::clone(self),
            principal: principal.to_string(),
        })
    }

    /// Work admitted and not yet ended, in all.
    pub fn in_flight(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, InFlight> {
        // The counts stay consistent even if a holder panicked: each
        // update is one step.
        self.in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut f = self.gate.lock();
        f.total = f.total.saturating_sub(1);
        if let Some(n) = f.by_principal.get_mut(&self.principal) {
            *n -= 1;
            if *n == 0 {
                f.by_principal.remove(&self.principal);
            }
        }
    }
}

#[cfg(test)]
mod tests;
