//! Reading providers' status pages (Atlassian Statuspage v2 `/api/v2/summary.json`,
//! and incident.io pages that imitate it) and feeding the level to the health board.
//!
//! The effective level is the worst of the page indicator, the watched component
//! (`degraded_performance` → minor, `partial_outage` → major, `major_outage` →
//! critical) and any unresolved incident's impact. A page that cannot be fetched or
//! parsed changes nothing.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use crate::config::ProviderConfig;
use crate::health::{HealthBoard, Observation, PageLevel};
use crate::providers::MAX_BODY_BYTES;

/// A short timeout: a slow status page must never matter.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// What one read of a status page said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageReading {
    pub level: PageLevel,
    /// The unresolved incident's name, else the page's own description.
    pub description: Option<String>,
}

fn level_of(indicator: &str) -> Option<PageLevel> {
    match indicator {
        "none" => Some(PageLevel::None),
        "minor" | "maintenance" => Some(PageLevel::Minor),
        "major" => Some(PageLevel::Major),
        "critical" => Some(PageLevel::Critical),
        _ => None,
    }
}

fn component_level(status: &str) -> PageLevel {
    match status {
        "degraded_performance" => PageLevel::Minor,
        "partial_outage" => PageLevel::Major,
        "major_outage" => PageLevel::Critical,
        // Not operational: DESIGN.md §4 makes that at least degraded.
        "under_maintenance" => PageLevel::Minor,
        _ => PageLevel::None,
    }
}

/// Reads a summary. `component` is matched case-insensitively by equality or prefix
/// ("Claude API" matches "Claude API (api.anthropic.com)"). `None` when the document
/// is not a status summary at all.
pub fn parse(summary: &Value, component: Option<&str>) -> Option<PageReading> {
    let summary = summary.get("summary").unwrap_or(summary);
    let indicator = summary
        .get("status")
        .and_then(|s| s.get("indicator"))
        .and_then(Value::as_str)
        .and_then(level_of);
    let components = summary.get("components").and_then(Value::as_array);
    let incidents: Vec<&Value> = summary
        .get("incidents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| {
            !matches!(
                i.get("status").and_then(Value::as_str),
                Some("resolved" | "postmortem")
            )
        })
        .collect();
    // incident.io's widget shape lists only the components that are not operational.
    let affected = summary.get("affected_components").and_then(Value::as_array);
    if indicator.is_none() && components.is_none() && incidents.is_empty() && affected.is_none() {
        return None;
    }
    let mut level = indicator.unwrap_or_default();
    for c in affected.into_iter().flatten() {
        level = level.max(component_level(
            c.get("status").and_then(Value::as_str).unwrap_or(""),
        ));
    }
    if let Some(watched) = component {
        let watched = watched.to_lowercase();
        for c in components.into_iter().flatten() {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_lowercase();
            if name == watched || name.starts_with(&watched) {
                let status = c.get("status").and_then(Value::as_str).unwrap_or("");
                level = level.max(component_level(status));
            }
        }
    }
    if indicator.is_none() {
        for incident in &incidents {
            if let Some(impact) = incident
                .get("impact")
                .and_then(Value::as_str)
                .and_then(level_of)
            {
                level = level.max(impact);
            }
        }
    }
    let description = incidents
        .first()
        .and_then(|i| i.get("name"))
        .and_then(Value::as_str)
        .or_else(|| {
            summary
                .get("status")
                .and_then(|s| s.get("description"))
                .and_then(Value::as_str)
        })
        .map(str::to_string);
    Some(PageReading { level, description })
}

/// Fetches and reads `{page}/api/v2/summary.json`.
pub async fn fetch(
    client: &reqwest::Client,
    page: &str,
    component: Option<&str>,
) -> Result<PageReading, String> {
    let url = format!("{}/api/v2/summary.json", page.trim_end_matches('/'));
    let response = tokio::time::timeout(FETCH_TIMEOUT, client.get(&url).send())
        .await
        .map_err(|_| format!("{url}: no answer within {} s", FETCH_TIMEOUT.as_secs()))?
        .map_err(|e| format!("{url}: {}", e.without_url()))?;
    if !response.status().is_success() {
        return Err(format!("{url}: HTTP {}", response.status().as_u16()));
    }
    let mut response = response;
    let mut body = Vec::new();
    let read = async {
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| e.without_url().to_string())?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY_BYTES {
                return Err("body over 1 MiB".to_string());
            }
        }
        Ok(())
    };
    tokio::time::timeout(FETCH_TIMEOUT, read)
        .await
        .map_err(|_| {
            format!(
                "{url}: body not complete within {} s",
                FETCH_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| format!("{url}: {e}"))?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))?;
    parse(&value, component).ok_or_else(|| format!("{url}: not a status summary"))
}

/// Polls every provider's status page every `period` until the handle is aborted.
pub fn spawn_pollers(
    providers: &[ProviderConfig],
    board: Arc<HealthBoard>,
    client: reqwest::Client,
    period: Duration,
) -> Vec<JoinHandle<()>> {
    if period.is_zero() {
        return Vec::new();
    }
    providers
        .iter()
        .filter(|p| p.kind.is_cloud())
        .filter_map(|p| {
            let page = p.status_page.clone()?;
            let name = p.name.clone();
            let component = p.status_component.clone();
            let board = board.clone();
            let client = client.clone();
            Some(tokio::spawn(async move {
                let mut ticker = tokio::time::interval(period);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    match fetch(&client, &page, component.as_deref()).await {
                        Ok(reading) => board.observe(Observation::StatusPage {
                            provider: name.clone(),
                            level: reading.level,
                            description: reading.description,
                        }),
                        Err(err) => {
                            tracing::debug!(provider = %name, "status page not read: {err}")
                        }
                    }
                }
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indicator_component_and_incident_give_the_worst_level() {
        let page = json!({
            "status": {"indicator": "minor", "description": "Partial System Degradation"},
            "components": [{"name": "Claude API (api.anthropic.com)", "status": "partial_outage"}],
            "incidents": [{"name": "Elevated errors on Claude API", "status": "investigating", "impact": "major"}]
        });
        let reading = parse(&page, Some("claude api")).unwrap();
        assert_eq!(reading.level, PageLevel::Major);
        assert_eq!(
            reading.description.as_deref(),
            Some("Elevated errors on Claude API")
        );
        assert_eq!(parse(&page, None).unwrap().level, PageLevel::Minor);
    }

    #[test]
    fn resolved_incidents_do_not_count_and_junk_is_not_a_reading() {
        let page = json!({"status": {"indicator": "none", "description": "All Systems Operational"},
            "incidents": [{"name": "old", "status": "resolved", "impact": "critical"}]});
        let reading = parse(&page, None).unwrap();
        assert_eq!(reading.level, PageLevel::None);
        assert_eq!(
            reading.description.as_deref(),
            Some("All Systems Operational")
        );
        assert_eq!(parse(&json!({"hello": 1}), None), None);
        assert_eq!(parse(&json!([1]), None), None);
    }
}
