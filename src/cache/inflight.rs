//! In-flight coalescing: identical requests that arrive while one is upstream wait for
//! it instead of sending another, and a request whose prefix extends an in-flight
//! one's by typed text waits for it to serve the rest.
//!
//! A flight runs as a spawned task so several requests can wait on it; it is aborted
//! (dropping its upstream calls and closing their connections) when its last waiter
//! goes away, e.g. when the editor cancels or supersedes the request.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;
use tokio::task::AbortHandle;

use super::key::ContextKey;

struct Slot<T> {
    id: u64,
    result: watch::Receiver<Option<Arc<T>>>,
    waiters: Arc<AtomicUsize>,
    abort: AbortHandle,
    suffix_hash: u64,
    prefix_tail: String,
}

/// The flights currently upstream, by context.
pub struct InFlight<T> {
    slots: Arc<Mutex<HashMap<ContextKey, Slot<T>>>>,
    next_id: AtomicU64,
}

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        InFlight {
            slots: Arc::new(Mutex::new(HashMap::new())),
            next_id: AtomicU64::new(1),
        }
    }
}

/// A wait on one flight. Dropping the last one aborts the flight.
pub struct Flight<T: Send + Sync + 'static> {
    key: ContextKey,
    id: u64,
    result: watch::Receiver<Option<Arc<T>>>,
    waiters: Arc<AtomicUsize>,
    abort: AbortHandle,
    slots: Arc<Mutex<HashMap<ContextKey, Slot<T>>>>,
}

/// How a request joined.
pub enum Joined<T: Send + Sync + 'static> {
    /// Started a new flight.
    Started(Flight<T>),
    /// Waits on an identical request.
    Same(Flight<T>),
    /// Waits on a request whose prefix this one extends by `typed`.
    TypedAhead { flight: Flight<T>, typed: String },
}

fn lock<T>(
    slots: &Mutex<HashMap<ContextKey, Slot<T>>>,
) -> MutexGuard<'_, HashMap<ContextKey, Slot<T>>> {
    slots.lock().unwrap_or_else(|e| e.into_inner())
}

impl<T: Send + Sync + 'static> InFlight<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        lock(&self.slots).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Joins an identical flight, or one this request types ahead of, or starts
    /// `work` as a new flight. `prefix` is the request's prefix window.
    pub fn join_or_start<F>(
        &self,
        key: ContextKey,
        suffix_hash: u64,
        prefix: &str,
        prefix_tail: String,
        work: impl FnOnce() -> F,
    ) -> Joined<T>
    where
        F: Future<Output = T> + Send + 'static,
    {
        let mut slots = lock(&self.slots);
        // A flight that has finished but not yet left the table is not joined: its
        // answer is in the cache if it was good, and stale if it was not.
        slots.retain(|_, slot| slot.result.borrow().is_none());
        if let Some(slot) = slots.get(&key) {
            return Joined::Same(self.wait_on(key, slot));
        }
        let ahead = slots.iter().find_map(|(k, slot)| {
            if slot.suffix_hash != suffix_hash || slot.prefix_tail.is_empty() {
                return None;
            }
            let at = prefix.rfind(slot.prefix_tail.as_str())?;
            // A tail shorter than the cache keeps is the flight's whole prefix: it must
            // start this one too, or the contexts differ.
            if slot.prefix_tail.len() < super::PREFIX_TAIL_BYTES && at != 0 {
                return None;
            }
            let typed = &prefix[at + slot.prefix_tail.len()..];
            // A few typed characters on the same line, not a different context.
            (!typed.is_empty() && typed.len() <= 64 && !typed.contains('\n'))
                .then(|| (*k, typed.to_string()))
        });
        if let Some((k, typed)) = ahead
            && let Some(slot) = slots.get(&k)
        {
            return Joined::TypedAhead {
                flight: self.wait_on(k, slot),
                typed,
            };
        }

        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(None);
        let waiters = Arc::new(AtomicUsize::new(1));
        let future = work();
        let done_slots = self.slots.clone();
        let handle = tokio::spawn(async move {
            let value = future.await;
            let _ = tx.send(Some(Arc::new(value)));
            let mut slots = lock(&done_slots);
            if slots.get(&key).is_some_and(|s| s.id == id) {
                slots.remove(&key);
            }
        });
        let abort = handle.abort_handle();
        slots.insert(
            key,
            Slot {
                id,
                result: rx.clone(),
                waiters: waiters.clone(),
                abort: abort.clone(),
                suffix_hash,
                prefix_tail,
            },
        );
        Joined::Started(Flight {
            key,
            id,
            result: rx,
            waiters,
            abort,
            slots: self.slots.clone(),
        })
    }

    fn wait_on(&self, key: ContextKey, slot: &Slot<T>) -> Flight<T> {
        slot.waiters.fetch_add(1, Ordering::SeqCst);
        Flight {
            key,
            id: slot.id,
            result: slot.result.clone(),
            waiters: slot.waiters.clone(),
            abort: slot.abort.clone(),
            slots: self.slots.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> Flight<T> {
    /// The flight's result; `None` if it was aborted.
    pub async fn wait(&mut self) -> Option<Arc<T>> {
        loop {
            if let Some(value) = self.result.borrow_and_update().clone() {
                return Some(value);
            }
            if self.result.changed().await.is_err() {
                return self.result.borrow().clone();
            }
        }
    }
}

impl<T: Send + Sync + 'static> Flight<T> {
    /// Stops waiting without aborting the flight: it runs to its end (bounded by the
    /// request's deadline) and leaves its answer in the cache.
    pub fn detach(self) {
        self.waiters.fetch_add(1, Ordering::SeqCst);
    }
}

impl<T: Send + Sync + 'static> Drop for Flight<T> {
    fn drop(&mut self) {
        if self.waiters.fetch_sub(1, Ordering::SeqCst) == 1 && self.result.borrow().is_none() {
            self.abort.abort();
            let mut slots = lock(&self.slots);
            if slots.get(&self.key).is_some_and(|s| s.id == self.id) {
                slots.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn identical_requests_share_one_flight() {
        let flights: InFlight<u32> = InFlight::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let (release, gate) = tokio::sync::oneshot::channel::<()>();
        let counter = runs.clone();
        let Joined::Started(mut first) =
            flights.join_or_start(ContextKey(1), 7, "p", "p".into(), || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = gate.await;
                42
            })
        else {
            panic!("expected a new flight")
        };
        let Joined::Same(mut second) =
            flights.join_or_start(ContextKey(1), 7, "p", "p".into(), || async { 0 })
        else {
            panic!("expected to join")
        };
        release.send(()).unwrap();
        assert_eq!(*first.wait().await.unwrap(), 42);
        assert_eq!(*second.wait().await.unwrap(), 42);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn the_last_waiter_leaving_aborts_the_flight() {
        let flights: InFlight<u32> = InFlight::new();
        let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
        struct Notice(Option<tokio::sync::oneshot::Sender<()>>);
        impl Drop for Notice {
            fn drop(&mut self) {
                if let Some(tx) = self.0.take() {
                    let _ = tx.send(());
                }
            }
        }
        let joined = flights.join_or_start(ContextKey(2), 0, "x", "x".into(), || async move {
            let _notice = Notice(Some(dropped_tx));
            std::future::pending::<u32>().await
        });
        tokio::task::yield_now().await;
        drop(joined);
        tokio::time::timeout(Duration::from_secs(5), dropped_rx)
            .await
            .unwrap()
            .unwrap();
        assert!(flights.is_empty());
    }

    #[tokio::test]
    async fn a_request_typed_ahead_of_a_flight_waits_for_it() {
        let flights: InFlight<u32> = InFlight::new();
        let _first =
            flights.join_or_start(ContextKey(3), 9, "let x = ", "let x = ".into(), || async {
                1
            });
        match flights.join_or_start(
            ContextKey(4),
            9,
            "let x = re",
            "let x = re".into(),
            || async { 2 },
        ) {
            Joined::TypedAhead { typed, .. } => assert_eq!(typed, "re"),
            _ => panic!("expected to wait on the earlier flight"),
        }
    }
}
