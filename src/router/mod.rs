//! The fallback chain: providers in order, each attempt bounded by its timeout and
//! by the request's deadline, the `local` engine last.
//!
//! Architecture invariant: the router knows providers only through the `Provider`
//! trait and errors only through their `ErrorClass`; it knows nothing of LSP.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::timeout_at;

use crate::config::{ProviderKind, RoutingSettings};
use crate::providers::{Attempt, Provider, ProviderError, ProviderRequest};

/// Where an answer came from.
#[derive(Debug, Clone)]
pub struct Routed {
    pub text: String,
    pub provider: String,
    pub model: String,
    /// Every cloud provider that was tried failed (or none could be tried).
    pub cloud_failed: bool,
    /// The failures met on the way, provider name first.
    pub failures: Vec<(String, ProviderError)>,
}

pub struct Router {
    providers: Vec<Arc<dyn Provider>>,
    settings: RoutingSettings,
}

impl Router {
    pub fn new(providers: Vec<Arc<dyn Provider>>, settings: RoutingSettings) -> Self {
        Router {
            providers,
            settings,
        }
    }

    pub fn providers(&self) -> &[Arc<dyn Provider>] {
        &self.providers
    }

    /// Asks providers in order until one answers. Cloud providers are skipped when
    /// `cloud_allowed` is false (an excluded file) or when they lack their key.
    pub async fn route(
        &self,
        request: &ProviderRequest,
        deadline: Instant,
        cloud_allowed: bool,
    ) -> Routed {
        let mut failures = Vec::new();
        let mut local = None;
        for provider in &self.providers {
            let config = provider.config();
            if config.kind == ProviderKind::Local {
                local.get_or_insert(provider);
                continue;
            }
            if !cloud_allowed
                || !config.has_required_key()
                || self.settings.disabled.contains(&config.name)
            {
                continue;
            }
            let attempts = 1 + self.settings.retries;
            for _ in 0..attempts {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let budget = config.timeout.min(deadline - now);
                let attempt = Attempt::new(budget, budget);
                let result = match timeout_at(
                    attempt.deadline.into(),
                    provider.complete(request, &attempt),
                )
                .await
                {
                    Ok(result) => result,
                    Err(_) => Err(ProviderError::timeout("no answer", budget)),
                };
                match result {
                    Ok(text) => {
                        return Routed {
                            text,
                            provider: config.name.clone(),
                            model: config.model.clone(),
                            cloud_failed: false,
                            failures,
                        };
                    }
                    Err(err) => {
                        tracing::warn!(provider = %config.name, error = %err, "attempt failed");
                        let retry = err.class.is_retryable();
                        failures.push((config.name.clone(), err));
                        if !retry {
                            break;
                        }
                    }
                }
            }
        }
        let Some(local) = local else {
            return Routed {
                text: String::new(),
                provider: String::new(),
                model: String::new(),
                cloud_failed: true,
                failures,
            };
        };
        // The local engine is synchronous and bounded; it gets no timeout of its own.
        let attempt = Attempt::new(Duration::from_secs(1), Duration::from_secs(1));
        let text = local.complete(request, &attempt).await.unwrap_or_default();
        Routed {
            text,
            provider: local.config().name.clone(),
            model: local.config().model.clone(),
            cloud_failed: true,
            failures,
        }
    }
}
