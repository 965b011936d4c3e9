//! The Redis connections (redis-rs on tokio): a managed, reconnecting
//! `ConnectionManager` for commands and a dedicated pub/sub connection that this module
//! re-opens with backoff. Nothing here is ever awaited by a completion: callers are
//! background tasks, and every command is bounded by a short timeout.

use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, IntoConnectionInfo};
use tokio::sync::mpsc;

use crate::config::TeamConfig;

/// The longest a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest one command may take: Redis is slow or gone past this.
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(300);
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Exponential backoff between reconnection attempts.
#[derive(Debug)]
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Backoff(FIRST_BACKOFF)
    }
}

impl Backoff {
    pub fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
        wait
    }

    pub fn reset(&mut self) {
        self.0 = FIRST_BACKOFF;
    }
}

/// A client for `config`, with the password from `SWITCHBOARD_REDIS_PASSWORD`. The
/// error is in words safe to print (no password).
pub fn client(config: &TeamConfig) -> Result<Client, String> {
    let info = config
        .redis_url
        .as_str()
        .into_connection_info()
        .map_err(|e| safe(config, &e))?;
    let info = match &config.password {
        Some(password) => {
            let settings = info
                .redis_settings()
                .clone()
                .set_password(password.expose());
            info.set_redis_settings(settings)
        }
        None => info,
    };
    Client::open(info).map_err(|e| safe(config, &e))
}

/// An error's words, with the URL redacted and no trace of the password.
pub fn safe(config: &TeamConfig, error: &dyn std::fmt::Display) -> String {
    let mut text = error
        .to_string()
        .replace(&config.redis_url, &config.redacted_url());
    if let Some(password) = &config.password
        && !password.expose().is_empty()
    {
        text = text.replace(password.expose(), "***");
    }
    text
}

/// The command connection, connecting in the background until it succeeds; from then
/// on the manager reconnects by itself.
pub async fn commands(client: Client) -> ConnectionManager {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(COMMAND_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(MAX_BACKOFF);
    let mut backoff = Backoff::default();
    loop {
        match tokio::time::timeout(
            CONNECT_TIMEOUT * 2,
            ConnectionManager::new_with_config(client.clone(), config.clone()),
        )
        .await
        {
            Ok(Ok(manager)) => return manager,
            Ok(Err(err)) => tracing::debug!("team: command connection: {}", err.kind_name()),
            Err(_) => tracing::debug!("team: command connection timed out"),
        }
        tokio::time::sleep(backoff.next()).await;
    }
}

trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for redis::RedisError {
    fn kind_name(&self) -> String {
        format!("{:?}", self.kind())
    }
}

/// `PUBLISH channel payload`, bounded by [`COMMAND_TIMEOUT`]; `false` when it did not go.
pub async fn publish(manager: &mut ConnectionManager, channel: &str, payload: &[u8]) -> bool {
    let mut publish = redis::cmd("PUBLISH");
    publish.arg(channel).arg(payload);
    let command = publish.query_async::<i64>(manager);
    matches!(
        tokio::time::timeout(COMMAND_TIMEOUT, command).await,
        Ok(Ok(_))
    )
}

/// What the subscriber reports.
#[derive(Debug)]
pub enum Heard {
    Connected,
    Disconnected,
    /// A message's payload, at most `max_bytes` long (longer ones are dropped here).
    Message(Vec<u8>),
}

/// Subscribes to `channel` on its own connection and forwards what it hears into
/// `out` (bounded: when full, messages are dropped, never waited for), re-opening the
/// connection with backoff whenever it fails. Runs until `out` is closed.
pub async fn subscribe(
    client: Client,
    channel: String,
    max_bytes: usize,
    out: mpsc::Sender<Heard>,
) {
    let mut backoff = Backoff::default();
    loop {
        let connected = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        })
        .await;
        match connected {
            Ok(Ok(pubsub)) => {
                backoff.reset();
                if out.send(Heard::Connected).await.is_err() {
                    return;
                }
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    let payload = message.get_payload_bytes();
                    if payload.len() > max_bytes {
                        continue;
                    }
                    match out.try_send(Heard::Message(payload.to_vec())) {
                        Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => {}
                        Err(mpsc::error::TrySendError::Closed(_)) => return,
                    }
                }
            }
            Ok(Err(err)) => tracing::debug!("team: subscriber: {}", err.kind_name()),
            Err(_) => tracing::debug!("team: subscriber: connection timed out"),
        }
        if out.send(Heard::Disconnected).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff.next()).await;
    }
}
