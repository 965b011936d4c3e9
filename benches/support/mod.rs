//! Support for the end-to-end benchmark: a stdio LSP client that times round trips,
//! percentiles, and a small deterministic random source for latency distributions.
#![allow(dead_code)]

pub mod lsp;
pub mod stats;
