//! The completion cache: exact hits, typing through a suggestion, stale answers for
//! outages, and persistence.
//!
//! - **Exact**: an LRU (`lru` crate) keyed by a hash of the context (language, prefix
//!   and suffix windows, settings — not the provider), bounded by entries and bytes,
//!   fresh for `ttl_secs`.
//! - **Typing through**: when the prefix is an earlier prefix plus text the user typed,
//!   the suffix is unchanged, and that earlier suggestion starts with the typed text,
//!   the rest of the suggestion is served without asking anyone. Backspacing back to
//!   the earlier prefix is an exact hit again.
//! - **Stale**: when every cloud provider fails, an entry past its freshness still serves.
//! - **Persistence** (`store.rs`): written in the background, never on the completion path;
//!   read at start on a thread of its own, so `initialize` does not wait for a full file
//!   (the first operation that needs the entries waits for the rest of the read).
//!
//! Architecture invariant: the cache is a small interface (`lookup`, `stale`, `insert`,
//! `clear`) over plain types, so a shared second tier (team mode) can sit behind it.

mod inflight;
mod key;
mod shared;
mod store;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lru::LruCache;

pub use inflight::{Flight, InFlight, Joined};
pub use key::{ContextKey, stable_hash, suffix_hash, tail};
pub use shared::{SharedAnswer, SharedLookup, SharedTier};
/// The cache file's format version (its default name is `completions-v{FILE_VERSION}.jsonl`).
pub use store::VERSION as FILE_VERSION;
pub use store::default_path;

use crate::config::CacheSettings;
use crate::providers::ProviderRequest;

/// How much of a prefix is kept to recognise typing through.
pub const PREFIX_TAIL_BYTES: usize = 256;
/// Answers longer than this are not cached.
pub const MAX_ENTRY_BYTES: usize = 16 << 10;
/// The cache's memory bound, whatever `capacity` says.
pub const MAX_TOTAL_BYTES: usize = 32 << 20;
/// How many recently shown suggestions typing through is checked against.
const RECENT_SHOWN: usize = 32;
/// Fixed overhead counted per entry.
const ENTRY_OVERHEAD: usize = 96;

/// One cached answer and its provenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub text: String,
    pub provider: String,
    pub model: String,
    /// Unix seconds.
    pub created: u64,
    pub suffix_hash: u64,
    /// The end of the prefix the answer was for.
    pub prefix: PrefixTail,
    /// Written to disk (never for excluded files).
    pub persist: bool,
}

/// The end of the prefix an answer was for, kept as a hash of its last
/// [`PREFIX_TAIL_BYTES`]: all typing through needs to recognise it, in 32 bytes instead
/// of a 256-byte string per entry (a full cache held 1 MB of prefix ends, its file twice
/// that with JSON escapes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixTail {
    hash: u128,
    /// Bytes hashed.
    len: u32,
    /// The whole prefix was hashed: a prefix must then be equal to it, not end with it.
    whole: bool,
}

impl PrefixTail {
    pub fn of(prefix: &str) -> Self {
        let end = tail(prefix, PREFIX_TAIL_BYTES);
        PrefixTail {
            hash: stable_hash(&[end.as_bytes()]),
            len: end.len() as u32,
            whole: end.len() == prefix.len(),
        }
    }

    /// Whether `prefix` is the one hashed (for a long one: ends with the same bytes).
    pub fn matches(&self, prefix: &str) -> bool {
        let len = self.len as usize;
        let Some(start) = prefix.len().checked_sub(len) else {
            return false;
        };
        if (self.whole && start != 0) || !prefix.is_char_boundary(start) {
            return false;
        }
        stable_hash(&[&prefix.as_bytes()[start..]]) == self.hash
    }
}

impl Entry {
    fn bytes(&self) -> usize {
        self.text.len() + self.provider.len() + self.model.len() + ENTRY_OVERHEAD
    }
}

/// A cache answer for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hit {
    /// The same context, fresh.
    Exact(Entry),
    /// The user typed the start of `entry`'s text: `remainder` is the rest.
    TypedThrough { entry: Entry, remainder: String },
}

/// Cache figures for status displays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub entries: u64,
    pub hits: u64,
    pub misses: u64,
}

struct Memory {
    lru: LruCache<ContextKey, Entry>,
    /// The suggestions shown most recently: the only ones the user can be typing
    /// through, so a miss never scans the whole cache.
    recent: std::collections::VecDeque<ContextKey>,
    bytes: usize,
    ttl: Duration,
    path: Option<PathBuf>,
}

/// The cache file's entries, being read on a thread of their own.
type Loading = JoinHandle<Vec<(ContextKey, Entry)>>;

pub struct Cache {
    memory: Mutex<Memory>,
    /// The file read at start, until an operation takes its entries in ([`Cache::lock`]);
    /// `loading_pending` says so without taking this lock.
    loading: Mutex<Option<Loading>>,
    loading_pending: AtomicBool,
    /// One file write at a time (the background writer, `clearCache`, shutdown).
    writing: Mutex<()>,
    hits: AtomicU64,
    misses: AtomicU64,
    dirty: AtomicBool,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn capacity(settings: &CacheSettings) -> NonZeroUsize {
    NonZeroUsize::new(settings.capacity.max(1)).unwrap_or(NonZeroUsize::MIN)
}

/// The file for `settings.path`: `""` = the default location, `"off"` = none.
pub fn resolve_path(settings: &CacheSettings) -> Option<PathBuf> {
    match settings.path.trim() {
        "off" => None,
        "" => store::default_path(),
        path => Some(PathBuf::from(path)),
    }
}

impl Cache {
    /// A cache configured by `settings`, filled from its file if it has one. The file is
    /// read on a thread of its own: this returns at once, and the first lookup, insert
    /// or count waits for whatever is left of the read (a full file takes 5–20 ms on a
    /// busy machine), so a server answers `initialize` without waiting for it.
    pub fn new(settings: &CacheSettings) -> Self {
        let path = resolve_path(settings);
        let cache = Cache {
            memory: Mutex::new(Memory {
                // Not `LruCache::new`: that reserves room for `capacity` entries up front.
                lru: {
                    let mut lru = LruCache::unbounded();
                    lru.resize(capacity(settings));
                    lru
                },
                recent: std::collections::VecDeque::with_capacity(RECENT_SHOWN),
                bytes: 0,
                ttl: Duration::from_secs(settings.ttl_secs),
                path: path.clone(),
            }),
            writing: Mutex::new(()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            dirty: AtomicBool::new(false),
            loading: Mutex::new(None),
            loading_pending: AtomicBool::new(false),
        };
        if let Some(path) = path {
            let read = path.clone();
            match std::thread::Builder::new()
                .name("cache-load".into())
                .spawn(move || store::load(&read))
            {
                Ok(loading) => {
                    *cache.loading.lock().unwrap_or_else(|e| e.into_inner()) = Some(loading);
                    cache.loading_pending.store(true, Ordering::Release);
                }
                Err(_) => cache.lock_now().take_in(store::load(&path)),
            }
        }
        cache
    }

    /// The entries, with the cache file's taken in first if it is still being read
    /// (waiting for the end of the read).
    fn lock(&self) -> MutexGuard<'_, Memory> {
        let mut memory = self.lock_now();
        if self.loading_pending.load(Ordering::Acquire) {
            // Under the memory lock: one caller takes the file in, the others then
            // find it done.
            self.loading_pending.store(false, Ordering::Release);
            let loading = self
                .loading
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            match loading.map(JoinHandle::join) {
                Some(Ok(entries)) => memory.take_in(entries),
                Some(Err(_)) => tracing::warn!("reading the cache file failed; starting empty"),
                None => {}
            }
        }
        memory
    }

    /// The entries as they are, without waiting for the file.
    fn lock_now(&self) -> MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies new settings (capacity, freshness, file) without losing entries that fit.
    /// The same file (the config reload at `initialize`) does not wait for its read.
    pub fn reconfigure(&self, settings: &CacheSettings) {
        let path = resolve_path(settings);
        let mut memory = if path != self.lock_now().path {
            self.lock()
        } else {
            self.lock_now()
        };
        memory.lru.resize(capacity(settings));
        memory.recount();
        memory.ttl = Duration::from_secs(settings.ttl_secs);
        if path != memory.path {
            // A new file: take in what it holds, and write there from now on.
            if let Some(path) = &path {
                for (key, entry) in store::load(path) {
                    if memory.lru.peek(&key).is_none() {
                        memory.put(key, entry);
                    }
                }
            }
            memory.path = path;
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    /// A fresh exact entry, else the rest of a suggestion the user has typed into.
    pub fn lookup(&self, key: ContextKey, request: &ProviderRequest) -> Option<Hit> {
        let now = now_secs();
        let mut memory = self.lock();
        let ttl = memory.ttl.as_secs();
        let fresh = |e: &Entry| now.saturating_sub(e.created) < ttl;
        if let Some(entry) = memory.lru.get(&key).filter(|e| fresh(e)).cloned() {
            memory.shown(key);
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Some(Hit::Exact(entry));
        }
        let suffix = suffix_hash(request);
        let found = memory.recent.iter().find_map(|k| {
            let entry = memory.lru.peek(k)?;
            if entry.suffix_hash != suffix || !fresh(entry) {
                return None;
            }
            typed_through(&request.prefix, entry).map(|rest| (*k, entry.clone(), rest))
        });
        if let Some((found_key, entry, remainder)) = found {
            memory.lru.promote(&found_key);
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Some(Hit::TypedThrough { entry, remainder });
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// The entry for `key` whatever its age: served when every provider failed.
    pub fn stale(&self, key: ContextKey) -> Option<Entry> {
        self.lock().lru.get(&key).cloned()
    }

    /// Caches a cloud provider's answer for `request`.
    pub fn insert(
        &self,
        key: ContextKey,
        request: &ProviderRequest,
        text: &str,
        provider: &str,
        model: &str,
        persist: bool,
    ) {
        if text.len() > MAX_ENTRY_BYTES {
            return;
        }
        let entry = Entry {
            text: text.to_string(),
            provider: provider.to_string(),
            model: model.to_string(),
            created: now_secs(),
            suffix_hash: suffix_hash(request),
            prefix: PrefixTail::of(&request.prefix),
            persist,
        };
        self.lock().put(key, entry);
        if persist {
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    pub fn clear(&self) {
        let mut memory = self.lock();
        memory.lru.clear();
        memory.recent.clear();
        memory.bytes = 0;
        self.hits.store(0, Ordering::Relaxed);
        self.misses.store(0, Ordering::Relaxed);
        self.dirty.store(true, Ordering::Relaxed);
    }

    pub fn figures(&self) -> Figures {
        Figures {
            entries: self.lock().lru.len() as u64,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    pub fn path(&self) -> Option<PathBuf> {
        self.lock_now().path.clone()
    }

    /// Writes the cache file if anything changed since the last write. Blocking: call
    /// it from a blocking thread, never on the completion path.
    pub fn flush(&self) {
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return;
        }
        let (path, keys) = {
            let memory = self.lock();
            let Some(path) = memory.path.clone() else {
                return;
            };
            // Oldest first, so loading in file order rebuilds the same recency. Keys
            // only: a copy of every entry would double the cache's memory while the
            // file is written.
            let mut keys: Vec<ContextKey> = memory.lru.iter().map(|(k, _)| *k).collect();
            keys.reverse();
            (path, keys)
        };
        // One entry serialised at a time, each under a short lock; an entry evicted
        // meanwhile is left out.
        let lines = keys
            .iter()
            .filter_map(|key| store::line(key, self.lock().lru.peek(key)?));
        if let Err(err) = store::save(&path, lines) {
            tracing::warn!("cache file {}: not written: {err}", path.display());
        }
    }
}

impl Memory {
    /// Takes in the file's entries (oldest first). Every operation that adds entries
    /// takes the file in first ([`Cache::lock`]), so these go in before any other.
    fn take_in(&mut self, entries: Vec<(ContextKey, Entry)>) {
        for (key, entry) in entries {
            self.put(key, entry);
        }
    }

    /// `key`'s suggestion was just shown.
    fn shown(&mut self, key: ContextKey) {
        self.recent.retain(|k| *k != key);
        self.recent.push_front(key);
        self.recent.truncate(RECENT_SHOWN);
    }

    fn put(&mut self, key: ContextKey, entry: Entry) {
        self.shown(key);
        self.bytes += entry.bytes();
        if let Some((_, old)) = self.lru.push(key, entry) {
            self.bytes = self.bytes.saturating_sub(old.bytes());
        }
        while self.bytes > MAX_TOTAL_BYTES {
            match self.lru.pop_lru() {
                Some((_, old)) => self.bytes = self.bytes.saturating_sub(old.bytes()),
                None => break,
            }
        }
    }

    fn recount(&mut self) {
        self.bytes = self.lru.iter().map(|(_, e)| e.bytes()).sum();
    }
}

/// When `prefix` is `entry`'s prefix plus the start of its text, the rest of the text.
pub fn typed_through(prefix: &str, entry: &Entry) -> Option<String> {
    let text = &entry.text;
    // Longest typed part first; the typed part is never the whole suggestion.
    for (typed_len, _) in text.char_indices().rev() {
        if typed_len == 0 {
            break;
        }
        let typed = &text[..typed_len];
        if !prefix.ends_with(typed) {
            continue;
        }
        if entry.prefix.matches(&prefix[..prefix.len() - typed_len]) {
            return Some(text[typed_len..].to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prefix: &str, suffix: &str) -> ProviderRequest {
        ProviderRequest::around(prefix, suffix, "rust")
    }

    fn memory_only(capacity: usize) -> Cache {
        Cache::new(&CacheSettings {
            capacity,
            ttl_secs: 3600,
            path: "off".into(),
        })
    }

    #[test]
    fn exact_hits_ignore_the_provider_and_count() {
        let cache = memory_only(8);
        let r = request("fn add(a: i32, b: i32) -> i32 {\n    ", "\n}");
        let key = ContextKey::of(&r);
        assert_eq!(cache.lookup(key, &r), None);
        cache.insert(key, &r, "a + b", "claude", "haiku", true);
        match cache.lookup(key, &r) {
            Some(Hit::Exact(entry)) => assert_eq!(
                (entry.text.as_str(), entry.provider.as_str()),
                ("a + b", "claude")
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            cache.figures(),
            Figures {
                entries: 1,
                hits: 1,
                misses: 1
            }
        );
    }

    #[test]
    fn typing_through_serves_the_rest_and_a_mismatch_misses() {
        let cache = memory_only(8);
        let shown = request("fn f() {\n    ", "\n}");
        cache.insert(
            ContextKey::of(&shown),
            &shown,
            "return a + b",
            "gpt",
            "m",
            true,
        );
        let typed = request("fn f() {\n    ret", "\n}");
        match cache.lookup(ContextKey::of(&typed), &typed) {
            Some(Hit::TypedThrough { remainder, .. }) => assert_eq!(remainder, "urn a + b"),
            other => panic!("{other:?}"),
        }
        let wrong = request("fn f() {\n    rex", "\n}");
        assert_eq!(cache.lookup(ContextKey::of(&wrong), &wrong), None);
        let other_suffix = request("fn f() {\n    ret", "\n}\nfn g() {}");
        assert_eq!(
            cache.lookup(ContextKey::of(&other_suffix), &other_suffix),
            None
        );
        let all_typed = request("fn f() {\n    return a + b", "\n}");
        assert_eq!(cache.lookup(ContextKey::of(&all_typed), &all_typed), None);
    }

    #[test]
    fn an_empty_prefix_entry_does_not_match_any_prefix_ending_in_its_text() {
        let entry = Entry {
            text: "abc".into(),
            provider: "p".into(),
            model: "m".into(),
            created: now_secs(),
            suffix_hash: 0,
            prefix: PrefixTail::of(""),
            persist: true,
        };
        assert_eq!(typed_through("a", &entry).as_deref(), Some("bc"));
        assert_eq!(typed_through("xyz a", &entry), None);
    }

    #[test]
    fn typing_through_a_long_prefix_needs_only_its_end() {
        let long = format!("{}fn f() {{\n    ", "// é\n".repeat(100));
        let shown = request(&long, "\n}");
        let cache = memory_only(8);
        cache.insert(ContextKey::of(&shown), &shown, "return 1", "p", "m", true);
        let typed = request(&format!("{long}ret"), "\n}");
        assert!(matches!(
            cache.lookup(ContextKey::of(&typed), &typed),
            Some(Hit::TypedThrough { remainder, .. }) if remainder == "urn 1"
        ));
        let end = PrefixTail::of(&long);
        assert!(!end.whole && end.matches(&format!("other text{long}")));
        assert!(!end.matches(&long[..long.len() - 1]) && !end.matches(""));
        let short = PrefixTail::of("x = ");
        assert!(short.matches("x = ") && !short.matches("y = x = "));
    }

    #[test]
    fn capacity_is_respected_under_many_inserts() {
        let cache = memory_only(1000);
        for i in 0..100_000 {
            let r = request(&format!("let v{i} = "), "");
            cache.insert(ContextKey::of(&r), &r, "1", "p", "m", false);
        }
        assert_eq!(cache.figures().entries, 1000);
        assert!(cache.lock().bytes <= MAX_TOTAL_BYTES);
    }

    #[test]
    fn stale_entries_are_not_fresh_hits_but_serve_outages() {
        let cache = Cache::new(&CacheSettings {
            capacity: 8,
            ttl_secs: 0,
            path: "off".into(),
        });
        let r = request("x = ", "");
        let key = ContextKey::of(&r);
        cache.insert(key, &r, "1", "p", "m", true);
        assert_eq!(cache.lookup(key, &r), None);
        assert_eq!(cache.stale(key).unwrap().text, "1");
    }

    #[test]
    fn a_file_read_in_the_background_serves_the_first_lookup_through_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let settings = CacheSettings {
            capacity: 8,
            ttl_secs: 3600,
            path: dir.path().join("c.jsonl").display().to_string(),
        };
        let r = request("y = ", "");
        {
            let cache = Cache::new(&settings);
            cache.insert(ContextKey::of(&r), &r, "7", "p", "m", true);
            cache.flush();
        }
        let cache = Cache::new(&settings);
        // The config reload at `initialize`: the same file, so it does not wait for it.
        cache.reconfigure(&settings);
        assert!(matches!(
            cache.lookup(ContextKey::of(&r), &r),
            Some(Hit::Exact(entry)) if entry.text == "7"
        ));
        assert_eq!(cache.figures().entries, 1);
        // Another file: its entries join the ones already taken in.
        let other = request("z = ", "");
        let other_path = dir.path().join("other.jsonl");
        {
            let cache = Cache::new(&CacheSettings {
                path: other_path.display().to_string(),
                ..settings.clone()
            });
            cache.insert(ContextKey::of(&other), &other, "8", "p", "m", true);
            cache.flush();
        }
        cache.reconfigure(&CacheSettings {
            path: other_path.display().to_string(),
            ..settings
        });
        assert_eq!(cache.figures().entries, 2);
    }

    #[test]
    fn entries_survive_a_restart_and_a_corrupt_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.jsonl");
        let settings = CacheSettings {
            capacity: 8,
            ttl_secs: 3600,
            path: path.display().to_string(),
        };
        let r = request("x = ", "");
        {
            let cache = Cache::new(&settings);
            cache.insert(ContextKey::of(&r), &r, "42", "p", "m", true);
            let secret = request("KEY=", "");
            cache.insert(ContextKey::of(&secret), &secret, "hunter2", "p", "m", false);
            cache.flush();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("hunter2"),
            "excluded entries never reach the disk"
        );
        let cache = Cache::new(&settings);
        assert!(matches!(
            cache.lookup(ContextKey::of(&r), &r),
            Some(Hit::Exact(_))
        ));

        std::fs::write(&path, b"\x00\x01garbage{{{").unwrap();
        assert_eq!(Cache::new(&settings).figures().entries, 0);
        std::fs::write(
            &path,
            "{\"format\":\"switchboard-cache\",\"version\":2}\n{\"key\":\"zz\"}\n{broken",
        )
        .unwrap();
        assert_eq!(Cache::new(&settings).figures().entries, 0);
    }
}
