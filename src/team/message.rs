//! The health channel's wire format (DESIGN.md §8): small JSON, one message per
//! member per publish, naming providers by a hash of kind + base URL + model so no
//! URL, key, code or path ever travels. Decoding is defensive: a message that is too
//! big, of the wrong shape or from an unknown version is dropped, never an error.
//!
//! ```json
//! {"v":1,"member":"9f0c…","providers":[{"id":"3a5e…","failures":3,"successes":0,
//!   "demoted":false,"detail":"529 overloaded_error"}]}
//! ```

use serde::{Deserialize, Serialize};

/// A message over this is dropped unread.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;
/// Providers read from one message; the rest are ignored.
pub const MAX_PROVIDERS: usize = 32;
const MAX_DETAIL_CHARS: usize = 48;
const VERSION: u32 = 1;

/// One member's news.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthMessage {
    pub v: u32,
    /// The sender's random session id, 16 hex digits.
    pub member: String,
    /// Empty in a heartbeat (presence only).
    #[serde(default)]
    pub providers: Vec<ProviderNews>,
}

/// What one member saw of one provider since its previous message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderNews {
    /// [`provider_id`]: 32 hex digits.
    pub id: String,
    #[serde(default)]
    pub failures: u32,
    #[serde(default)]
    pub successes: u32,
    /// A slow, low-quality or status-page verdict holds.
    #[serde(default)]
    pub demoted: bool,
    /// `529 overloaded_error`: a status and an error code, nothing else.
    #[serde(default)]
    pub detail: Option<String>,
}

/// A message as received and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub member: u64,
    pub providers: Vec<ProviderNews>,
}

/// How a provider is named across members: a hash of its kind, base URL and model.
pub fn provider_id(kind: &str, base_url: &str, model: &str) -> String {
    let base_url = base_url.trim_end_matches('/');
    format!(
        "{:032x}",
        crate::cache::stable_hash(&[kind.as_bytes(), base_url.as_bytes(), model.as_bytes()])
    )
}

/// A random session id, so a member knows its own messages.
pub fn new_member_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

pub fn member_hex(member: u64) -> String {
    format!("{member:016x}")
}

/// `529 overloaded_error` from an error's short form; anything that is not a status
/// and a plain code (a provider's own words could echo a key) is left out.
pub fn sanitize_detail(detail: &str) -> Option<String> {
    let clean = detail.len() <= MAX_DETAIL_CHARS
        && !detail.is_empty()
        && detail
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.'))
        && detail.split(' ').count() <= 2;
    clean.then(|| detail.to_string())
}

pub fn encode(message: &HealthMessage) -> Vec<u8> {
    serde_json::to_vec(message).unwrap_or_default()
}

/// The message in `payload`, checked; `None` for anything else.
pub fn decode(payload: &[u8]) -> Option<Received> {
    if payload.len() > MAX_MESSAGE_BYTES {
        return None;
    }
    let message: HealthMessage = serde_json::from_slice(payload).ok()?;
    if message.v != VERSION || message.member.len() != 16 {
        return None;
    }
    let member = u64::from_str_radix(&message.member, 16).ok()?;
    let providers = message
        .providers
        .into_iter()
        .take(MAX_PROVIDERS)
        .filter(|p| p.id.len() == 32 && p.id.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|mut p| {
            p.detail = p.detail.as_deref().and_then(sanitize_detail);
            p
        })
        .collect();
    Some(Received { member, providers })
}

pub fn message(member: u64, providers: Vec<ProviderNews>) -> HealthMessage {
    HealthMessage {
        v: VERSION,
        member: member_hex(member),
        providers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_and_names_providers_by_hash_only() {
        let id = provider_id(
            "anthropic",
            "https://api.anthropic.com/",
            "claude-haiku-4-5",
        );
        assert_eq!(
            id,
            provider_id("anthropic", "https://api.anthropic.com", "claude-haiku-4-5")
        );
        let sent = message(
            0xabc,
            vec![ProviderNews {
                id: id.clone(),
                failures: 3,
                successes: 0,
                demoted: false,
                detail: Some("529 overloaded_error".into()),
            }],
        );
        let bytes = encode(&sent);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains("anthropic.com"), "{text}");
        let received = decode(&bytes).unwrap();
        assert_eq!(received.member, 0xabc);
        assert_eq!(received.providers, sent.providers);
    }

    #[test]
    fn junk_wrong_types_and_huge_payloads_are_dropped() {
        for junk in [
            &b"not json"[..],
            br#"{"v":1,"member":12,"providers":[]}"#,
            br#"{"v":2,"member":"0000000000000001"}"#,
            br#"{"v":1,"member":"zzzzzzzzzzzzzzzz"}"#,
            br#"{"v":1,"member":"0000000000000001","providers":"all"}"#,
            br#"{"v":1,"member":"0000000000000001","providers":[{"id":"x","failures":-1}]}"#,
            br#"[1,2,3]"#,
        ] {
            assert_eq!(decode(junk), None, "{}", String::from_utf8_lossy(junk));
        }
        let huge = format!(
            r#"{{"v":1,"member":"0000000000000001","providers":[],"pad":"{}"}}"#,
            "x".repeat(MAX_MESSAGE_BYTES)
        );
        assert_eq!(decode(huge.as_bytes()), None);
        let bad_ids = br#"{"v":1,"member":"0000000000000001","providers":[{"id":"short"}]}"#;
        assert_eq!(decode(bad_ids).unwrap().providers, vec![]);
    }

    #[test]
    fn details_that_could_carry_words_from_a_provider_are_left_out() {
        assert_eq!(
            sanitize_detail("529 overloaded_error").as_deref(),
            Some("529 overloaded_error")
        );
        assert_eq!(sanitize_detail("Incorrect API key provided: sk-abc"), None);
        assert_eq!(sanitize_detail(&"a".repeat(100)), None);
    }
}
