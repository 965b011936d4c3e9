//! The LSP surface over stdio. Architecture invariant: the only module that knows
//! LSP types and JSON-RPC; everything below speaks plain Rust.

mod actions;
mod commands;
mod inline;
mod reply;
mod server;
mod status;
mod surface;
mod transport;

pub use server::Backend;

use tower_lsp_server::{LspService, Server};

/// Requests polled at once. Each is a cheap future, not a thread: a high limit means
/// completions waiting on a slow provider never hold back `didChange`, commands or
/// `shutdown` (every wait is also bounded by the completion deadline).
const CONCURRENCY: usize = 256;

/// Serves LSP on stdin/stdout until the client exits.
pub async fn serve_stdio() {
    // Kept here too, so counts are written when the editor goes without `shutdown`.
    let stats = std::sync::Arc::new(crate::stats::Stats::new());
    let for_backend = stats.clone();
    let (service, socket) =
        LspService::build(move |client| Backend::with_stats(client, for_backend.clone()))
            .custom_method(inline::METHOD, Backend::inline_completion)
            .finish();
    let (input, output, writer) = transport::guarded_stdio();
    Server::new(input, output, socket)
        .concurrency_level(CONCURRENCY)
        .serve(service)
        .await;
    stats.flush().await;
    // The library's output stream closes when it returns; let the last frames out.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), writer).await;
}
