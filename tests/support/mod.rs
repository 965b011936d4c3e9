//! Shared test support: the fake provider and the LSP client harness.
#![allow(dead_code)]
pub mod fake_provider;
pub mod lsp_client;
pub mod redis_server;
pub mod tinyproxy;

use serde_json::{Value, json};

/// `initializationOptions` with one `openai-fim` provider pointed at `fake`.
pub fn fim_options(fake: &fake_provider::FakeProvider) -> Value {
    json!({"provider": [{
        "name": "fake", "kind": "openai-fim", "model": "fake-model",
        "base_url": format!("{}/v1", fake.url())
    }]})
}
