//! What identifies a completion context, stably across runs (the disk cache outlives
//! the process, so std's randomly keyed hasher will not do).

use crate::providers::ProviderRequest;

/// Two independent 64-bit FNV-1a hashes (different offset bases): 128 bits, so a
/// collision between two contexts is not a practical concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContextKey(pub u128);

const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const BASIS_A: u64 = 0xcbf2_9ce4_8422_2325;
const BASIS_B: u64 = 0x8422_2325_cbf2_9ce4;

#[derive(Clone, Copy)]
struct Fnv2(u64, u64);

impl Fnv2 {
    fn new() -> Self {
        Fnv2(BASIS_A, BASIS_B)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
            self.1 = (self.1 ^ u64::from(b.rotate_left(3))).wrapping_mul(FNV_PRIME);
        }
    }

    /// A length-prefixed field, so ("ab","c") and ("a","bc") differ.
    fn field(&mut self, bytes: &[u8]) {
        self.bytes(&(bytes.len() as u64).to_le_bytes());
        self.bytes(bytes);
    }

    fn finish(self) -> u128 {
        (u128::from(self.0) << 64) | u128::from(self.1)
    }
}

/// A stable 128-bit hash of length-prefixed fields, the same on every machine and
/// build (team mode names providers and contexts with it across members).
pub fn stable_hash(fields: &[&[u8]]) -> u128 {
    let mut h = Fnv2::new();
    for field in fields {
        h.field(field);
    }
    h.finish()
}

/// The suffix and settings part of a context: what must be equal for typing through.
pub fn suffix_hash(request: &ProviderRequest) -> u64 {
    let mut h = Fnv2::new();
    h.field(request.language.as_bytes());
    h.field(request.suffix.as_bytes());
    h.field(&request.max_tokens.to_le_bytes());
    h.0
}

impl ContextKey {
    /// The key of everything that determines the answer: language, prefix window,
    /// suffix window and completion settings — not the provider.
    pub fn of(request: &ProviderRequest) -> Self {
        let mut h = Fnv2::new();
        h.field(request.language.as_bytes());
        h.field(request.prefix.as_bytes());
        h.field(request.suffix.as_bytes());
        h.field(&request.max_tokens.to_le_bytes());
        h.field(&[u8::from(request.single_line)]);
        ContextKey(h.finish())
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
