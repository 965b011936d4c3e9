//! The interface of a shared second cache tier (team mode's, DESIGN.md §8): answers
//! other members' servers stored, looked up after the memory cache misses. The engine
//! races a lookup against the provider request, so a tier can only make a completion
//! faster; storing never waits.

use std::future::Future;
use std::pin::Pin;

use super::ContextKey;

/// A cleaned answer as shared: the text and who produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedAnswer {
    pub text: String,
    pub provider: String,
    pub model: String,
}

/// A lookup in flight: resolves to `None` on a miss, an error or its own timeout.
pub type SharedLookup = Pin<Box<dyn Future<Output = Option<SharedAnswer>> + Send>>;

/// A second tier behind the memory cache.
pub trait SharedTier: Send + Sync {
    /// Looks `key` up; the future is bounded in time, and dropped when the provider wins.
    fn get(&self, key: ContextKey) -> SharedLookup;
    /// Stores an answer in the background; never waits.
    fn put(&self, key: ContextKey, answer: SharedAnswer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tier_is_object_safe() {
        fn _takes(_: &dyn SharedTier) {}
    }
}
