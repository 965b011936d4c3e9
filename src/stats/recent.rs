//! What running servers last said about each provider, read from the stats file's state
//! changes. `switchboard-ls status` runs in a process of its own, with no health board and
//! no traffic: this is how it can show a verdict an editor's server reached (slow,
//! low-quality answers, down), with the server's reason in words.

use std::collections::BTreeMap;

use super::record::Line;

/// How far back a verdict is still worth showing.
pub const WINDOW_SECS: u64 = 30 * 60;

/// The last verdict a server reached about one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `degraded`, `down` or `disabled`.
    pub state: String,
    /// `slow: median 4.2 s over 20`, `529 retryable`, …
    pub reason: String,
    /// Unix seconds.
    pub at: u64,
    /// The server that reached it has stopped since (so the verdict is no longer watched).
    pub server_stopped: bool,
}

impl Verdict {
    /// `degraded — slow: median 4.2 s over 20 (3 min ago)`.
    pub fn describe(&self, now: u64) -> String {
        let minutes = now.saturating_sub(self.at) / 60;
        let ago = if minutes == 0 {
            "just now".to_string()
        } else {
            format!("{minutes} min ago")
        };
        let stopped = if self.server_stopped {
            ", that server has stopped since"
        } else {
            ""
        };
        match self.reason.as_str() {
            "" => format!("{} ({ago}{stopped})", self.state),
            reason => format!("{} — {reason} ({ago}{stopped})", self.state),
        }
    }
}

/// Per provider, the verdict of its last state change in the `WINDOW_SECS` before
/// `now`, when that change left it not healthy. A later recovery (by any server) ends it.
pub fn verdicts(lines: &[Line], now: u64) -> BTreeMap<String, Verdict> {
    let since = now.saturating_sub(WINDOW_SECS);
    let mut changes: Vec<_> = lines
        .iter()
        .filter_map(|line| match line {
            Line::Change(c) if c.at >= since && c.at <= now => Some(c),
            _ => None,
        })
        .collect();
    changes.sort_by_key(|c| c.at);
    let mut verdicts: BTreeMap<String, Verdict> = BTreeMap::new();
    for change in changes {
        match change.to.as_str() {
            "degraded" | "down" | "disabled" => {
                verdicts.insert(
                    change.provider.clone(),
                    Verdict {
                        state: change.to.clone(),
                        reason: change.reason.clone(),
                        at: change.at,
                        server_stopped: false,
                    },
                );
            }
            "exit" => {
                if let Some(v) = verdicts.get_mut(&change.provider) {
                    v.server_stopped = true;
                }
            }
            _ => {
                verdicts.remove(&change.provider);
            }
        }
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::record::StateChange;

    fn change(at: u64, provider: &str, to: &str, reason: &str) -> Line {
        Line::Change(StateChange {
            at,
            provider: provider.into(),
            from: "healthy".into(),
            to: to.into(),
            reason: reason.into(),
            session: "s".into(),
        })
    }

    #[test]
    fn the_last_verdict_in_the_window_until_a_recovery() {
        let now = 10_000;
        let lines = [
            change(now - 100, "gpt", "down", "529 retryable"),
            change(
                now - 300,
                "claude",
                "degraded",
                "slow: median 4.2 s over 20",
            ),
            change(now - 50, "gpt", "healthy", "recovered"),
            change(now - WINDOW_SECS - 1, "gemini", "down", "503 retryable"),
        ];
        let v = verdicts(&lines, now);
        assert_eq!(v.keys().collect::<Vec<_>>(), ["claude"]);
        assert_eq!(
            v["claude"].describe(now),
            "degraded — slow: median 4.2 s over 20 (5 min ago)"
        );
    }

    #[test]
    fn a_stopped_server_is_said() {
        let now = 10_000;
        let lines = [
            change(
                now - 30,
                "claude",
                "degraded",
                "low-quality answers: 4 of last 4 empty",
            ),
            change(now - 20, "claude", "exit", ""),
        ];
        assert_eq!(
            verdicts(&lines, now)["claude"].describe(now),
            "degraded — low-quality answers: 4 of last 4 empty (just now, that server has stopped since)"
        );
    }
}
