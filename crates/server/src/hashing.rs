//! The bounded pool of argon2id workers that check passwords (and hash the new password of a
//! change made on the account page): a fixed number of dedicated OS
//! threads sized from a memory budget and the number of cores, fed through a bounded queue that
//! refuses at once when full. A worker reuses one argon2 memory block while attempts are
//! waiting and gives it back to the allocator when the queue runs dry, so a burst of sign-ins
//! leaves no memory behind: RSS after a thousand logins is RSS after one.
//!
//! Memory held by hashing is bounded by `workers × PER_HASH_BYTES`: a full queue answers
//! [`PoolError::Busy`] rather than waiting, and at most `per_addr` attempts from one client
//! address are in progress at a time. Unknown users are checked against a dummy hash at the same
//! cost, so the time taken does not reveal whether the user exists.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, TryLockError};

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use portcullis_types::secret::Password;
use tokio::sync::oneshot;

/// Memory one argon2id hash uses with the parameters this server writes (19 MiB).
pub(crate) const PER_HASH_BYTES: u64 = Params::DEFAULT_M_COST as u64 * 1024;

/// Seconds a client is told to wait (`Retry-After`) when the pool is saturated.
pub(crate) const RETRY_AFTER_SECS: u32 = 1;

fn argon2() -> Argon2<'static> {
    // argon2id, 19 MiB, 2 passes, 1 lane (the OWASP minimum recommendation).
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// Hashes `password` with a fresh random salt into a PHC string.
pub(crate) fn hash_phc(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| "random generator failed".to_owned())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks `password` against the PHC string `phc`, computing the hash in `blocks` (grown once
/// to the size the hash needs and kept for the next call).
fn verify_with_memory(blocks: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let needed = params.block_count();
    if needed as u64 * Block::SIZE as u64 > PER_HASH_BYTES {
        // Stronger parameters than this server writes: hash with memory of its own, so the
        // reusable buffer stays at the size the budget was computed for.
        let mut own = Vec::new();
        own.resize(needed, Block::default());
        return compare(
            algorithm, version, params, password, salt, &expected, &mut own,
        );
    }
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    compare(
        algorithm, version, params, password, salt, &expected, blocks,
    )
}

fn compare(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    expected: &argon2::password_hash::Output,
    blocks: &mut [Block],
) -> bool {
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, blocks)
        .is_ok()
        && aws_lc_rs::constant_time::verify_slices_are_equal(&out, expected.as_bytes()).is_ok()
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_phc("portcullis-dummy-password").unwrap_or_default())
}

/// Why a verification was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The queue is full, or the client address already has its share of attempts running:
    /// answer 503 with `Retry-After`.
    #[error("password hashing is saturated")]
    Busy,
    /// The workers are gone (they never stop while the pool lives; a bug if seen).
    #[error("password hashing workers stopped")]
    Stopped,
    /// Hashing a new password failed (the random generator, say; the cause is logged).
    #[error("password hashing failed")]
    Failed,
}

/// What a worker is asked to do with a password.
enum Work {
    /// Check it against a PHC string (a dummy one for `None`).
    Verify {
        phc: Option<String>,
        reply: oneshot::Sender<bool>,
    },
    /// Hash it with a fresh salt.
    Hash {
        reply: oneshot::Sender<Result<String, String>>,
    },
}

struct Job {
    password: Password,
    work: Work,
}

/// Sizing of the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PoolSettings {
    /// Bytes the workers' argon2 memory may hold at most; `budget / PER_HASH_BYTES` workers
    /// (at least one, at most `max_workers`) are started.
    pub memory_budget_bytes: u64,
    /// Workers beyond this many would only share the same cores: argon2id is CPU-bound, so a
    /// worker per core is as fast as the machine allows, and more only add memory.
    pub max_workers: usize,
    /// Verifications that may wait for a worker before further ones are refused.
    pub queue: usize,
    /// Attempts one client address may have queued or running at once.
    pub per_addr: u32,
}

impl PoolSettings {
    /// The number of workers the budget and the cores allow (at least one).
    pub(crate) fn workers(&self) -> usize {
        usize::try_from(self.memory_budget_bytes / PER_HASH_BYTES)
            .unwrap_or(usize::MAX)
            .min(self.max_workers)
            .clamp(1, 64)
    }

    /// The cores this process may run on (one when unknown).
    pub(crate) fn cores() -> usize {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    }
}

/// The fixed pool of hashing workers (dedicated OS threads). Workers stop when the pool is
/// dropped.
pub(crate) struct PasswordPool {
    tx: SyncSender<Job>,
    workers: usize,
    per_addr: u32,
    in_flight: Arc<Mutex<HashMap<IpAddr, u32>>>,
    held: Arc<AtomicU64>,
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("workers", &self.workers)
            .field("per_addr", &self.per_addr)
            .field("held_bytes", &self.held_bytes())
            .finish_non_exhaustive()
    }
}

/// The next job: at once if one is waiting; otherwise the worker's argon2 memory goes back to
/// the allocator (large blocks are their own mappings, so the pages leave the process) before
/// it sleeps until the next one. `None` when the pool is gone.
fn next_job(rx: &Mutex<Receiver<Job>>, blocks: &mut Vec<Block>, held: &AtomicU64) -> Option<Job> {
    // A lock held by another worker means that worker is waiting for the queue: it is empty.
    let waiting = match rx.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    };
    if let Some(guard) = waiting {
        match guard.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => {}
        }
    }
    held.fetch_sub(block_bytes(blocks), Ordering::Relaxed);
    *blocks = Vec::new();
    rx.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .recv()
        .ok()
}

fn block_bytes(blocks: &Vec<Block>) -> u64 {
    u64::try_from(blocks.capacity() * Block::SIZE).unwrap_or(u64::MAX)
}

fn worker(rx: &Mutex<Receiver<Job>>, held: &AtomicU64) {
    let mut blocks: Vec<Block> = Vec::new();
    while let Some(job) = next_job(rx, &mut blocks, held) {
        let before = block_bytes(&blocks);
        let password = job.password.secret().as_bytes();
        // The waiting request may have gone away; nothing to do then.
        match job.work {
            Work::Verify { phc, reply } => {
                let ok = match &phc {
                    Some(phc) => verify_with_memory(&mut blocks, password, phc),
                    None => {
                        // Same cost for unknown users.
                        let _ = verify_with_memory(&mut blocks, password, dummy_hash());
                        false
                    }
                };
                held.fetch_add(block_bytes(&blocks) - before, Ordering::Relaxed);
                let _ = reply.send(ok);
            }
            // Rare (a password change): argon2 takes its own memory for it and frees it at once.
            Work::Hash { reply } => {
                let _ = reply.send(hash_phc(job.password.secret()));
            }
        }
    }
}

impl PasswordPool {
    /// Starts the workers.
    pub(crate) fn start(settings: PoolSettings) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel::<Job>(settings.queue);
        let rx = Arc::new(Mutex::new(rx));
        let held = Arc::new(AtomicU64::new(0));
        let workers = settings.workers();
        for i in 0..workers {
            let rx = Arc::clone(&rx);
            let held = Arc::clone(&held);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || worker(&rx, &held))?;
        }
        Ok(Self {
            tx,
            workers,
            per_addr: settings.per_addr,
            in_flight: Arc::default(),
            held,
        })
    }

    /// Bytes of argon2 memory the workers hold right now (zero while no attempt is waiting).
    pub(crate) fn held_bytes(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// Verifies `password` against `phc`; with `None` (unknown user) a dummy hash is checked at
    /// the same cost and `false` returned. Never waits for room in the queue: a full queue, or
    /// an address with `per_addr` attempts already in progress, gives [`PoolError::Busy`].
    pub(crate) async fn verify(
        &self,
        password: Password,
        phc: Option<String>,
        addr: Option<IpAddr>,
    ) -> Result<bool, PoolError> {
        self.run(password, addr, |reply| Work::Verify { phc, reply })
            .await
    }

    /// Hashes a new password into a PHC string on a worker, under the same limits as
    /// [`PasswordPool::verify`] (never on the async runtime, never waiting for queue room).
    pub(crate) async fn hash(
        &self,
        password: Password,
        addr: Option<IpAddr>,
    ) -> Result<String, PoolError> {
        self.run(password, addr, |reply| Work::Hash { reply })
            .await?
            .map_err(|cause| {
                tracing::error!(cause, "hashing a new password failed");
                PoolError::Failed
            })
    }

    /// Queues `work` on `password` for `addr` (within its share) and waits for the answer.
    async fn run<T>(
        &self,
        password: Password,
        addr: Option<IpAddr>,
        work: impl FnOnce(oneshot::Sender<T>) -> Work,
    ) -> Result<T, PoolError> {
        let _slot = match addr {
            Some(ip) => Some(self.take_slot(ip)?),
            None => None,
        };
        let (reply, answer) = oneshot::channel();
        self.tx
            .try_send(Job {
                password,
                work: work(reply),
            })
            .map_err(|e| match e {
                TrySendError::Full(_) => PoolError::Busy,
                TrySendError::Disconnected(_) => PoolError::Stopped,
            })?;
        answer.await.map_err(|_| PoolError::Stopped)
    }

    fn take_slot(&self, ip: IpAddr) -> Result<AddrSlot, PoolError> {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = map.entry(ip).or_insert(0);
        if *n >= self.per_addr {
            return Err(PoolError::Busy);
        }
        *n = n.saturating_add(1);
        Ok(AddrSlot {
            map: Arc::clone(&self.in_flight),
            ip,
        })
    }
}

/// One running attempt of a client address; released when dropped (also when the request is
/// cancelled).
struct AddrSlot {
    map: Arc<Mutex<HashMap<IpAddr, u32>>>,
    ip: IpAddr,
}

impl Drop for AddrSlot {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = map.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(budget: u64, queue: usize, per_addr: u32) -> PasswordPool {
        PasswordPool::start(PoolSettings {
            memory_budget_bytes: budget,
            max_workers: 64,
            queue,
            per_addr,
        })
        .unwrap()
    }

    #[test]
    fn workers_follow_the_budget() {
        let s = |b, cores| PoolSettings {
            memory_budget_bytes: b,
            max_workers: cores,
            queue: 1,
            per_addr: 1,
        };
        assert_eq!(s(64 * 1024 * 1024, 8).workers(), 3);
        assert_eq!(s(64 * 1024 * 1024, 2).workers(), 2);
        assert_eq!(s(0, 8).workers(), 1);
        assert_eq!(s(PER_HASH_BYTES * 2, 8).workers(), 2);
        assert_eq!(s(PER_HASH_BYTES * 2, 0).workers(), 1);
    }

    #[tokio::test]
    async fn argon2id_round_trip() {
        let pool = pool(PER_HASH_BYTES, 8, 8);
        let phc = hash_phc("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        let v = |p: &str, phc: Option<String>| pool.verify(Password::new(p), phc, None);
        assert!(v("correct horse", Some(phc.clone())).await.unwrap());
        assert!(!v("wrong", Some(phc)).await.unwrap());
        assert!(!v("x", None).await.unwrap());
        assert!(!v("x", Some("garbage".into())).await.unwrap());
        let made = pool.hash(Password::new("new horse"), None).await.unwrap();
        assert!(made.starts_with("$argon2id$"));
        assert!(v("new horse", Some(made)).await.unwrap());
    }

    #[tokio::test]
    async fn dos_4_pool_serves_concurrent_verifications() {
        let pool = Arc::new(pool(PER_HASH_BYTES * 2, 64, 64));
        let a = hash_phc("password-a").unwrap();
        let b = hash_phc("password-b").unwrap();
        let mut tasks = Vec::new();
        for i in 0..24 {
            let pool = Arc::clone(&pool);
            let (phc, guess, expect) = match i % 4 {
                0 => (Some(a.clone()), "password-a", true),
                1 => (Some(a.clone()), "password-b", false),
                2 => (Some(b.clone()), "password-b", true),
                _ => (None, "password-a", false),
            };
            tasks.push(tokio::spawn(async move {
                let got = pool.verify(Password::new(guess), phc, None).await.unwrap();
                (got, expect)
            }));
        }
        for t in tasks {
            let (got, expect) = t.await.unwrap();
            assert_eq!(got, expect);
        }
    }

    #[tokio::test]
    async fn dos_4_memory_is_given_back_when_the_queue_runs_dry() {
        let pool = Arc::new(pool(PER_HASH_BYTES * 2, 64, 64));
        let phc = hash_phc("password-a").unwrap();
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let pool = Arc::clone(&pool);
            let phc = phc.clone();
            tasks.push(tokio::spawn(async move {
                pool.verify(Password::new("password-a"), Some(phc), None)
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(true));
        }
        // Each worker releases its block right after its last answer; wait for that (bounded).
        for _ in 0..500 {
            if pool.held_bytes() == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!(
            "workers still hold {} bytes with nothing queued",
            pool.held_bytes()
        );
    }

    #[tokio::test]
    async fn dos_4_full_queue_is_refused_at_once() {
        // One worker, a queue of one: of many concurrent attempts some must be refused, and
        // those that run still answer correctly.
        let pool = Arc::new(pool(0, 1, 100));
        let phc = hash_phc("password-a").unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let pool = Arc::clone(&pool);
            let phc = phc.clone();
            tasks.push(tokio::spawn(async move {
                pool.verify(Password::new("password-a"), Some(phc), None)
                    .await
            }));
        }
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(ok) => assert!(ok),
                Err(e) => {
                    assert_eq!(e, PoolError::Busy);
                    busy += 1;
                }
            }
        }
        assert!(busy > 0, "no attempt was refused");
    }

    #[tokio::test]
    async fn dos_4_attempts_per_address_are_limited() {
        let pool = pool(PER_HASH_BYTES, 64, 1);
        let ip: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        let held = pool.take_slot(ip).unwrap();
        assert_eq!(
            pool.verify(Password::new("x"), None, Some(ip)).await,
            Err(PoolError::Busy)
        );
        assert_eq!(
            pool.verify(Password::new("x"), None, Some(other)).await,
            Ok(false)
        );
        drop(held);
        assert_eq!(
            pool.verify(Password::new("x"), None, Some(ip)).await,
            Ok(false)
        );
    }
}
