//! Any JSON as the editor layer (`initializationOptions`): loading never panics and
//! the chain always has a `local` provider.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_ls::config::{ConfigSources, ProviderKind, load};

fuzz_target!(|data: &[u8]| {
    let Ok(editor) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let loaded = load(&ConfigSources {
        editor: Some(editor),
        ..Default::default()
    });
    // The router always falls back to the first `local` provider, wherever it is
    // listed; `routing.order` can move it ahead in the list (see docs/HARDENING.md).
    assert!(
        loaded
            .config
            .providers
            .iter()
            .any(|p| p.kind == ProviderKind::Local)
    );
});
