//! The application's shared state, built once from settings: store, keys,
//! hasher, delivery, clock. Handlers and workers receive it as `Arc<AppState>`.

mod hash_pool;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::ExposeSecret;
use tokio::sync::{Notify, Semaphore, watch};

pub use hash_pool::{HashPool, HashWorkError};

use crate::audit::anchor::Anchor;
use crate::audit::pseudonym::Pseudonymiser;
use crate::clock::Clock;
use crate::config::Settings;
use crate::delivery::SenderError;
use crate::delivery::{Sealer, Senders, email::EmailSender, sms::SmsSender};
use crate::domain::pin::{HashMemory, Pin, PinError, PinHasher};
use crate::domain::support::Desk;
use crate::hash_gate::HashGate;
use crate::keys::{Keys, Missing};
use crate::shield::flood::FloodShield;
use crate::store::{GroupCommit, Store};

pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub keys: Keys,
    pub hasher: Arc<PinHasher>,
    /// The threads argon2 work runs on, at a lower priority than webhooks.
    pub hash_pool: Arc<HashPool>,
    /// One permit per hashing thread, held while a hash runs, so work in
    /// flight never exceeds the threads (tests hold them to pause hashing).
    pub hash_permits: Arc<Semaphore>,
    /// Who may queue argon2 work: `pin.hash_queue` in all,
    /// `pin.hash_per_principal` each.
    pub hash_gate: Arc<HashGate>,
    pub sealer: Sealer,
    pub pseudonyms: Pseudonymiser,
    pub senders: Arc<Senders>,
    pub outbox_wake: Arc<Notify>,
    pub metrics: Option<PrometheusHandle>,
    /// Turns true when the server shuts down: long-lived responses (the
    /// console's event streams) end so connections can drain.
    pub stopping: watch::Sender<bool>,
    /// The support desk's lines and hours, when `[support]` is configured.
    pub support: Option<Arc<Desk>>,
    /// This instance's flood shields and failure folding.
    pub shield: Arc<FloodShield>,
    /// The last signed checkpoint, kept beside the signing key.
    pub anchor: Anchor,
    /// Passes the background checkpoint signer has made over the log (ticks
    /// that read it; the first at start-up): tests that tamper with the log
    /// wait for the first, so it cannot land in the middle of theirs.
    pub checkpointer_passes: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    #[error("PIN hasher: {0}")]
    Hasher(#[source] PinError),
    #[error("cannot start the hashing threads: {0}")]
    HashThreads(#[source] std::io::Error),
    #[error(transparent)]
    Email(SenderError),
    #[error(transparent)]
    Sms(SenderError),
    #[error("listener: {0}")]
    Listener(#[source] std::io::Error),
    /// `[support]` that does not make a desk (validate() names the same).
    #[error("support: {}", .0.join("; "))]
    Support(Vec<String>),
}

impl AppState {
    pub async fn build(
        settings: Settings,
        clock: Arc<dyn Clock>,
        metrics: Option<PrometheusHandle>,
    ) -> Result<Arc<AppState>, BuildError> {
        let store = Store::connect(
            settings.database.url.expose(),
            settings.database.max_connections,
        )
        .await?;
        store.migrate().await?;
        Self::with_store(settings, store, clock, metrics)
    }

    pub fn with_store(
        settings: Settings,
        store: Store,
        clock: Arc<dyn Clock>,
        metrics: Option<PrometheusHandle>,
    ) -> Result<Arc<AppState>, BuildError> {
        let db = &settings.database;
        let store = store
            .with_clock(Arc::clone(&clock))
            .with_group_commit(GroupCommit {
                max: db.group_commit_max as usize,
                wait: db.group_commit_wait.0,
            });
        let keys = Keys::load_or_create(&settings)?;
        Self::assemble(settings, store, keys, clock, metrics)
    }

    /// What a command that only reads needs: the database and the keys
    /// must already exist, and nothing is created, migrated or generated.
    pub async fn open_existing(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<AppState>, BuildError> {
        let store = Store::open_existing(
            settings.database.url.expose(),
            settings.database.max_connections,
        )
        .await?;
        let keys = Keys::load(&settings, Missing::Refuse)?;
        Self::assemble(settings, store, keys, clock, None)
    }

    fn assemble(
        settings: Settings,
        store: Store,
        keys: Keys,
        clock: Arc<dyn Clock>,
        metrics: Option<PrometheusHandle>,
    ) -> Result<Arc<AppState>, BuildError> {
        let hasher = PinHasher::with_params(
            keys.pepper(),
            settings.pin.argon2_memory_kib,
            settings.pin.argon2_iterations,
            1,
        )
        .map_err(BuildError::Hasher)?;
        let hasher = Arc::new(hasher);
        let hash_pool = HashPool::start(
            Arc::clone(&hasher),
            settings.pin.hash_concurrency,
            settings.pin.hash_nice,
        )
        .map_err(BuildError::HashThreads)?;
        let sealer = Sealer::new(&keys.derive("pingate/outbox-seal/v1"));
        let pseudonyms =
            Pseudonymiser::new(*keys.derive("pingate/audit-pseudonym/v1").expose_secret());
        let senders = Senders {
            email: EmailSender::from_settings(&settings.email, &settings.email_file_dir())
                .map_err(BuildError::Email)?,
            sms: SmsSender::from_settings(&settings).map_err(BuildError::Sms)?,
        };
        // validate() has checked it; an error here names the same mistakes.
        let support = match &settings.support {
            Some(s) => Some(Arc::new(s.desk().map_err(BuildError::Support)?)),
            None => None,
        };
        Ok(Arc::new(AppState {
            support,
            shield: Arc::new(FloodShield::new(&settings.limits)),
            anchor: Anchor::beside(&settings.signing_key_path()),
            checkpointer_passes: AtomicU64::new(0),
            hash_pool: Arc::new(hash_pool),
            hash_permits: Arc::new(Semaphore::new(settings.pin.hash_concurrency)),
            hash_gate: HashGate::new(settings.pin.hash_queue, settings.pin.hash_per_principal),
            settings: Arc::new(settings),
            store,
            clock,
            keys,
            hasher,
            sealer,
            pseudonyms,
            senders: Arc::new(senders),
            outbox_wake: Arc::new(Notify::new()),
            metrics,
            stopping: watch::Sender::new(false),
        }))
    }

    /// Runs argon2 work on the hashing threads (`hash_concurrency` of
    /// them, at `hash_nice`), carrying the caller's tracing span.
    pub async fn hash_work<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PinHasher, &mut HashMemory) -> T + Send + 'static,
    ) -> Result<T, HashWorkError> {
        let _permit = self
            .hash_permits
            .acquire()
            .await
            .map_err(|_| HashWorkError::Closed)?;
        self.hash_pool.run(f).await
    }

    /// Verifies a PIN against a hash (or the dummy hash, for unknown ids),
    /// counted in `pingate_pin_verifications_total`: the argon2 work done,
    /// which must not depend on whether the challenge exists.
    pub async fn verify_pin(&self, pin: Pin, phc: Option<String>) -> Result<bool, HashWorkError> {
        metrics::counter!("pingate_pin_verifications_total").increment(1);
        self.hash_work(move |h, memory| match phc {
            Some(phc) => h.verify_in(memory, &pin, &phc),
            None => {
                let _ = h.verify_in(memory, &pin, h.dummy_hash());
                false
            }
        })
        .await
    }

    pub fn wake_outbox(&self) {
        self.outbox_wake.notify_one();
    }
}
