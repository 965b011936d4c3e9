//! Any bytes as the user's config file: loading never panics and the chain always
//! has a `local` provider. (`read_toml_layer` is private, so the bytes go through a file.)
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use switchboard_ls::config::{ConfigSources, ProviderKind, load};

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("switchboard-fuzz-{}.toml", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    std::fs::write(path(), data).expect("write the config file");
    let loaded = load(&ConfigSources {
        user_file: Some(path().clone()),
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
