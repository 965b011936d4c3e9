//! Warm connections (`[network] prewarm`, DESIGN.md §3): a failover should not pay a TCP
//! and TLS handshake. Every cloud provider that may serve next gets a `HEAD` of its base
//! URL at start and then every [`PERIOD`], through the very client (and so the very
//! connection pool) its completions use. A `HEAD` carries no key and asks for no
//! completion, so warming costs no tokens and no money; whatever it answers (usually a
//! 404) leaves a live connection in the pool. The period stays under the idle timeouts
//! of providers' load balancers and of the pool itself (90 s), so the connection is
//! still there when it is needed. Providers that are disabled or `down` are left alone.
//! Over HTTP/2 the `HEAD` is a stream on the provider's one connection, so the warm
//! connection is the one a burst of concurrent completions shares.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::config::ProviderConfig;
use crate::health::{HealthBoard, HealthState};

/// How often a warm connection is used again.
pub const PERIOD: Duration = Duration::from_secs(25);
/// A warming request that takes longer than this is given up (it is only a courtesy).
const TIMEOUT: Duration = Duration::from_secs(5);

/// Keeps the cloud providers' connections warm until the handle is aborted; nothing
/// when `enabled` is false.
pub fn spawn(
    providers: &[ProviderConfig],
    board: Arc<HealthBoard>,
    client: reqwest::Client,
    enabled: bool,
) -> Option<JoinHandle<()>> {
    let targets: Vec<(String, String)> = providers
        .iter()
        .filter(|p| p.kind.is_cloud())
        .map(|p| (p.name.clone(), p.base_url.clone()))
        .collect();
    if !enabled || targets.is_empty() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(PERIOD);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let health = board.snapshot();
            let warm = targets.iter().filter(|(name, _)| {
                health.iter().find(|h| &h.name == name).is_none_or(|h| {
                    h.disabled.is_none()
                        && !matches!(h.state, HealthState::Down | HealthState::Disabled)
                })
            });
            let requests = warm.map(|(name, url)| {
                let request = client.head(url).timeout(TIMEOUT).send();
                async move {
                    match request.await {
                        Ok(_) => tracing::trace!(provider = %name, "connection warm"),
                        Err(err) => tracing::debug!(provider = %name, "warming failed: {err}"),
                    }
                }
            });
            futures_util::future::join_all(requests).await;
        }
    }))
}
