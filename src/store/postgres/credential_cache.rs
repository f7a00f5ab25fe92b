//! The credentials a node has looked up, kept in memory so that an authenticated request costs
//! no database round trip for its credential, and forgotten the moment any node (or the
//! command line) changes the `credentials` table: migration 0009's trigger sends
//! `NOTIFY vpcep_credentials` with every change, delivered when it commits, and each node's
//! listener clears its cache on receipt.
//!
//! What bounds how long a revoked credential keeps working on a node:
//! - normally, the delivery of the notification (milliseconds after the revoking commit);
//! - a lookup that raced the change cannot put the old row back: an entry is stored only when
//!   no change was announced between the lookup's start and its end (`generation`);
//! - while the listener is not connected and listening, the cache is not used at all, and it is
//!   cleared whenever the listener (re)connects, since changes may have been missed meanwhile;
//! - if notifications stopped arriving without the connection being seen to fail, an entry is
//!   still not used more than [`MAX_AGE`] after it was read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::Credential;

/// The longest an entry is used after it was read from the database.
pub const MAX_AGE: Duration = Duration::from_secs(10);
/// Entries kept at most; past it the cache starts over (only credentials that exist are kept,
/// so random keys cannot fill it).
const MAX_ENTRIES: usize = 10_000;

/// Which lookup an entry answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CredentialKey {
    AccessKey(String),
    TokenSha256(String),
}

#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<CredentialKey, (Credential, Instant)>>,
    /// Bumped by every announced change.
    generation: AtomicU64,
    /// Whether the listener is connected and listening.
    live: AtomicBool,
}

impl CredentialCache {
    /// The cached credential, if the cache may be used and holds a fresh one.
    pub fn get(&self, key: &CredentialKey) -> Option<Credential> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let (credential, read_at) = entries.get(key)?;
        (read_at.elapsed() < MAX_AGE).then(|| credential.clone())
    }

    /// The generation a lookup starts at; pass it to [`CredentialCache::put`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps what a lookup that started at `generation` found, unless a change was announced
    /// since (then the row it read may be stale) or the cache is not live. The generation is
    /// read under the lock, so an `invalidate` either bumped it before (nothing is kept) or
    /// clears after.
    pub fn put(
        &self,
        key: CredentialKey,
        credential: &Credential,
        generation: u64,
        read_at: Instant,
    ) {
        if !self.live.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, (credential.clone(), read_at));
    }

    /// A change was announced (or may have been missed): forget everything.
    pub fn invalidate(&self) {
        // First: a `put` that takes the lock after this sees the new generation and keeps
        // nothing.
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }

    /// The listener is listening (`true`) or not; either way what is cached is dropped.
    pub fn set_live(&self, live: bool) {
        self.invalidate();
        self.live.store(live, Ordering::Release);
        self.invalidate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(ak: &str) -> Credential {
        Credential {
            name: "n".into(),
            domain_id: "d".into(),
            project_id: "p".into(),
            access_key: ak.into(),
            secret_key: "s".into(),
            created_at: 0,
        }
    }

    #[test]
    fn nothing_is_cached_or_served_unless_live() {
        let c = CredentialCache::default();
        let key = CredentialKey::AccessKey("AK".into());
        c.put(key.clone(), &cred("AK"), c.generation(), Instant::now());
        assert!(c.get(&key).is_none());
        c.set_live(true);
        c.put(key.clone(), &cred("AK"), c.generation(), Instant::now());
        assert_eq!(c.get(&key).map(|c| c.access_key), Some("AK".into()));
        c.set_live(false);
        assert!(c.get(&key).is_none());
    }

    #[test]
    fn a_lookup_that_raced_a_change_is_not_kept() {
        let c = CredentialCache::default();
        c.set_live(true);
        let key = CredentialKey::TokenSha256("h".into());
        let started = c.generation();
        c.invalidate(); // the credential was deleted while the lookup ran
        c.put(key.clone(), &cred("AK"), started, Instant::now());
        assert!(c.get(&key).is_none());
    }

    #[test]
    fn changes_clear_and_old_entries_expire() {
        let c = CredentialCache::default();
        c.set_live(true);
        let key = CredentialKey::AccessKey("AK".into());
        c.put(key.clone(), &cred("AK"), c.generation(), Instant::now());
        c.invalidate();
        assert!(c.get(&key).is_none());
        let old = Instant::now().checked_sub(MAX_AGE + Duration::from_secs(1));
        if let Some(old) = old {
            c.put(key.clone(), &cred("AK"), c.generation(), old);
            assert!(c.get(&key).is_none());
        }
    }
}
