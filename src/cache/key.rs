//! What identifies a completion context, stably across runs (the disk cache outlives
//! the process, so std's randomly keyed hasher will not do).

use xxhash_rust::xxh3::Xxh3;

use crate::providers::ProviderRequest;

/// A 128-bit XXH3 hash of the context: a collision between two contexts is not a
/// practical concern, and it is a specified algorithm, so the same on every machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextKey(pub u128);

/// Length-prefixed fields fed to one XXH3 stream. XXH3 reads eight bytes and more at a
/// time: hashing a 10 KB context takes well under a microsecond, where FNV-1a, a byte
/// at a time, took about ten — most of a cache hit's time in the server.
struct Fields(Xxh3);

impl Fields {
    fn new() -> Self {
        Fields(Xxh3::new())
    }

    /// A length-prefixed field, so ("ab","c") and ("a","bc") differ.
    fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }
}

/// A stable 128-bit hash of length-prefixed fields, the same on every machine and
/// build (team mode names providers and contexts with it across members).
pub fn stable_hash(fields: &[&[u8]]) -> u128 {
    let mut h = Fields::new();
    for field in fields {
        h.field(field);
    }
    h.0.digest128()
}

/// The suffix and settings part of a context: what must be equal for typing through.
pub fn suffix_hash(request: &ProviderRequest) -> u64 {
    Fields::new()
        .field(request.language.as_bytes())
        .field(request.suffix.as_bytes())
        .field(&request.max_tokens.to_le_bytes())
        .0
        .digest()
}

impl ContextKey {
    /// The key of everything that determines the answer: language, prefix window,
    /// suffix window and completion settings — not the provider.
    pub fn of(request: &ProviderRequest) -> Self {
        let key = Fields::new()
            .field(request.language.as_bytes())
            .field(request.prefix.as_bytes())
            .field(request.suffix.as_bytes())
            .field(&request.max_tokens.to_le_bytes())
            .field(&[u8::from(request.single_line)])
            .0
            .digest128();
        ContextKey(key)
    }

    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        u128::from_str_radix(text, 16).ok().map(ContextKey)
    }
}

/// The last `max` bytes of `text`, cut on a char boundary: enough of a prefix to
/// recognise it when the user types on.
pub fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}
