//! The ids handed out with completion items, and what each one was: the bounded map
//! behind `switchboard.accepted`.
//!
//! An editor runs the item's command when the user accepts it; VS Code runs it again
//! for each word of a partial accept. So an id is counted the first time it comes back
//! and remembered as spent after that: one accepted suggestion is one accept, however
//! many pieces of it the user took. Only the last [`CAPACITY`] ids are kept; an older
//! or unknown id is simply not counted.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::Provenance;

/// Suggestions remembered at once. An editor shows one at a time, so an id older than
/// this is long gone from the screen.
pub const CAPACITY: usize = 256;

struct Slot {
    provenance: Provenance,
    accepted: bool,
}

#[derive(Default)]
struct Slots {
    by_id: HashMap<String, Slot>,
    order: VecDeque<String>,
}

/// Issues opaque ids and answers, once per id, what an accepted one was.
pub struct Ledger {
    /// Differs between server processes, so an id an editor kept from an earlier
    /// server is unknown here rather than someone else's.
    prefix: String,
    next: AtomicU64,
    slots: Mutex<Slots>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger::new()
    }
}

impl Ledger {
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Ledger {
            prefix: format!("{:x}{:x}", std::process::id(), nanos),
            next: AtomicU64::new(1),
            slots: Mutex::new(Slots::default()),
        }
    }

    /// A fresh id for a suggestion with this provenance.
    pub fn issue(&self, provenance: Provenance) -> String {
        let id = format!(
            "{}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        while slots.order.len() >= CAPACITY {
            if let Some(old) = slots.order.pop_front() {
                slots.by_id.remove(&old);
            }
        }
        slots.order.push_back(id.clone());
        slots.by_id.insert(
            id.clone(),
            Slot {
                provenance,
                accepted: false,
            },
        );
        id
    }

    /// What `id` was, the first time it is accepted; `None` for an unknown, expired or
    /// already counted id.
    pub fn accept(&self, id: &str) -> Option<Provenance> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let slot = slots.by_id.get_mut(id)?;
        if slot.accepted {
            return None;
        }
        slot.accepted = true;
        Some(slot.provenance.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(provider: &str) -> Provenance {
        Provenance {
            provider: provider.into(),
            cached: false,
            stale: false,
            failover: false,
            local: false,
        }
    }

    #[test]
    fn an_id_counts_once_however_often_it_comes_back() {
        let ledger = Ledger::new();
        let id = ledger.issue(from("claude"));
        assert_eq!(
            ledger.accept(&id).map(|p| p.provider),
            Some("claude".into())
        );
        assert_eq!(ledger.accept(&id), None);
        assert_eq!(ledger.accept("nonsense"), None);
    }

    #[test]
    fn only_the_last_ids_are_kept() {
        let ledger = Ledger::new();
        let first = ledger.issue(from("a"));
        let ids: Vec<String> = (0..CAPACITY).map(|_| ledger.issue(from("b"))).collect();
        assert_eq!(ledger.accept(&first), None);
        assert!(ledger.accept(&ids[0]).is_some());
        assert!(ledger.accept(&ids[CAPACITY - 1]).is_some());
        assert_eq!(ledger.slots.lock().unwrap().by_id.len(), CAPACITY);
    }

    #[test]
    fn ids_differ() {
        let ledger = Ledger::new();
        assert_ne!(ledger.issue(from("a")), ledger.issue(from("a")));
    }
}
