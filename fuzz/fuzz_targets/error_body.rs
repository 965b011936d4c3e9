//! `ProviderError::from_http` on any status 400..=599, retry headers and body.
//!
//! Input: two bytes of status, one byte saying which retry header to set, a line
//! with that header's value, then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use switchboard_ls::providers::ProviderError;

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let status = 400 + u16::from_le_bytes([data[0], data[1]]) % 200;
    let status = StatusCode::from_u16(status).expect("400..=599");
    let which = data[2];
    let rest = &data[3..];
    let split = rest.iter().position(|&b| b == b'\n').unwrap_or(0);
    let (value, body) = (&rest[..split], &rest[(split + 1).min(rest.len())..]);
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(value) {
        match which % 3 {
            0 => {}
            1 => {
                headers.insert("retry-after", value);
            }
            _ => {
                headers.insert("retry-after-ms", value);
            }
        }
    }
    let err = ProviderError::from_http(status, &headers, body);
    assert_eq!(err.status, Some(status.as_u16()));
    assert!(!err.short().is_empty());
    let _ = err.to_string();
});
