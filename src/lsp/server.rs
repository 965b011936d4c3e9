//! The `LanguageServer` implementation: document sync, completion, inline completion
//! and configuration, on top of the plain-Rust engine.
//!
//! Handlers run concurrently (tower-lsp-server polls many at once), so:
//! - document changes are applied synchronously, before any later request is looked
//!   at, and a completion snapshots the text when it starts;
//! - a newer completion request for the same document supersedes an older one, which
//!   then answers an empty result at once and drops its upstream call;
//! - every wait is bounded by the completion deadline.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use std::time::Duration;

use dashmap::DashMap;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use super::actions;
use super::inline::{InlineCompletionParams, InlineCompletionResponse};
use super::status::StatusNotification;
use super::surface::{self, Surface};
use super::{commands, reply, status};
use crate::config::{self, ConfigProblem, ConfigSources};
use crate::document::{DocumentStore, Edit, EditRejected, Encoding, LineCol, Snapshot};
use crate::engine::{Completion, CompletionRequest, Engine};
use crate::providers::Neighbours;
use crate::stats::Stats;
use crate::status_page;

/// Open documents whose text the local engine searches, at most.
const NEIGHBOURS: usize = 8;
const NEIGHBOUR_BYTES: usize = 4 << 20;

pub struct Backend {
    pub(super) client: Client,
    documents: Arc<DocumentStore>,
    pub(super) engine: Arc<Engine>,
    encoding: OnceLock<Encoding>,
    sources: Mutex<ConfigSources>,
    /// Per document: the generation of its newest completion request.
    generations: DashMap<String, watch::Sender<u64>>,
    next_generation: AtomicU64,
    /// Problems found before the client could be told.
    pending_problems: Mutex<Vec<ConfigProblem>>,
    /// The problems last shown, so an unchanged config is not reported again.
    shown_problems: Mutex<Vec<ConfigProblem>>,
    /// Status-page pollers and the connection warmer of the current config.
    pollers: Mutex<Vec<JoinHandle<()>>>,
    /// Status diagnostics and messages.
    pub(super) surface: Arc<Surface>,
    /// Documents already told they are over a size limit.
    refused: Mutex<std::collections::HashSet<String>>,
    /// Completions running at once, at most [`MAX_CONCURRENT_COMPLETIONS`].
    completion_slots: Arc<tokio::sync::Semaphore>,
    /// When the concurrency limit was last reported.
    limit_reported: Mutex<Option<std::time::Instant>>,
    /// Served and accepted suggestions, for `switchboard-ls stats`.
    pub(super) stats: Arc<Stats>,
    /// The client shows `switchboard/status` itself (else `switchboard.status` also
    /// answers with a message in words).
    status_ui: OnceLock<bool>,
    /// Wakes the status notifier when something it shows changed without a health
    /// event (who is serving, counts).
    status_changed: Arc<tokio::sync::Notify>,
}

/// A runaway client cannot make the server hold more completions than this; the extra
/// ones are answered empty at once.
pub const MAX_CONCURRENT_COMPLETIONS: usize = 64;

impl Backend {
    pub fn new(client: Client) -> Self {
        Backend::with_stats(client, Arc::new(Stats::new()))
    }

    /// A backend that counts into `stats` (which its caller may flush after the server ends).
    pub fn with_stats(client: Client, stats: Arc<Stats>) -> Self {
        let sources = ConfigSources::from_env();
        let loaded = config::load(&sources);
        Backend {
            client,
            documents: Arc::new(DocumentStore::new()),
            engine: Arc::new(Engine::new(loaded.config)),
            encoding: OnceLock::new(),
            sources: Mutex::new(sources),
            generations: DashMap::new(),
            next_generation: AtomicU64::new(1),
            pending_problems: Mutex::new(Vec::new()),
            shown_problems: Mutex::new(Vec::new()),
            pollers: Mutex::new(Vec::new()),
            surface: Arc::new(Surface::default()),
            refused: Mutex::new(std::collections::HashSet::new()),
            completion_slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_COMPLETIONS)),
            limit_reported: Mutex::new(None),
            stats,
            status_ui: OnceLock::new(),
            status_changed: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// A document over a size limit: said once per document, clearly.
    async fn refuse(&self, uri: &Uri, refused: EditRejected) {
        tracing::warn!("{}: {refused}", uri.as_str());
        let first = self
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uri.as_str().to_string());
        if first {
            let name = uri.as_str().rsplit('/').next().unwrap_or(uri.as_str());
            self.client
                .show_message(
                    MessageType::WARNING,
                    format!("Switchboard: {name}: {refused}"),
                )
                .await;
        }
    }

    /// The `switchboard/status` object for the current runtime.
    pub(super) fn status_value(&self) -> serde_json::Value {
        status::status(
            &self.engine.runtime(),
            self.engine.cache_figures(),
            self.surface.serving(),
            self.surface.team.status(),
        )
    }

    /// Whether the client said it shows `switchboard/status` itself
    /// (`capabilities.experimental.switchboardStatus`).
    pub(super) fn client_shows_status(&self) -> bool {
        self.status_ui.get().copied().unwrap_or(false)
    }

    /// Restarts status-page polling and connection warming for the current config.
    fn restart_pollers(&self) {
        let runtime = self.engine.runtime();
        let period = Duration::from_secs(runtime.config.routing.status_poll_secs);
        let mut fresh = status_page::spawn_pollers(
            &runtime.config.providers,
            runtime.board().clone(),
            runtime.client().clone(),
            period,
        );
        fresh.extend(crate::providers::prewarm::spawn(
            &runtime.config.providers,
            runtime.board().clone(),
            runtime.client().clone(),
            runtime.config.network.prewarm,
        ));
        let old = std::mem::replace(
            &mut *self.pollers.lock().unwrap_or_else(|e| e.into_inner()),
            fresh,
        );
        for handle in old {
            handle.abort();
        }
        self.restart_team();
    }

    /// Starts, restarts or stops team mode to match the current `[team]`.
    fn restart_team(&self) {
        let engine = self.engine.clone();
        // Weak: the surface holds the team link that holds this callback.
        let surface = Arc::downgrade(&self.surface);
        let changed = self.status_changed.clone();
        let runtime = self.engine.runtime();
        let setup = runtime
            .config
            .team
            .clone()
            .map(|config| crate::team::TeamSetup {
                config,
                cache_ttl_secs: runtime.config.cache.ttl_secs,
                workspace_root: runtime.config.completion.workspace_root.clone(),
            });
        self.surface.team.apply(
            setup,
            Arc::new(move || engine.runtime().board().clone()),
            Arc::new(move || {
                if let Some(surface) = surface.upgrade() {
                    surface.refresh();
                }
                changed.notify_one();
            }),
        );
        self.engine.set_shared_tier(self.surface.team.shared_tier());
    }

    fn encoding(&self) -> Encoding {
        self.encoding.get().copied().unwrap_or_default()
    }

    /// Rebuilds the config from the current sources; returns its problems.
    fn reload_config(&self) -> Vec<ConfigProblem> {
        let sources = self
            .sources
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let loaded = config::load(&sources);
        for problem in &loaded.problems {
            tracing::warn!("config: {problem}");
        }
        let chain: Vec<_> = loaded.config.providers.iter().map(|p| p.label()).collect();
        tracing::info!("provider chain: {}", chain.join(" → "));
        self.engine.reload(loaded.config);
        self.surface.set_problems(loaded.problems.clone());
        loaded.problems
    }

    async fn report_problems(&self, problems: Vec<ConfigProblem>) {
        {
            let mut shown = self
                .shown_problems
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if *shown == problems {
                return;
            }
            *shown = problems.clone();
        }
        if problems.is_empty() {
            return;
        }
        let text = problems
            .iter()
            .map(|p| p.message.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        self.client
            .show_message(MessageType::ERROR, format!("Switchboard config: {text}"))
            .await;
    }

    /// Runs one completion for `uri` at `position`, with the id its item carries for
    /// `switchboard.accepted`. `None` when the document is not open or a newer request
    /// superseded this one.
    /// `kind` separates inline from popup requests: a client that sends both for one
    /// document must not have one supersede the other.
    async fn complete_at(
        &self,
        uri: &Uri,
        position: Position,
        kind: &'static str,
    ) -> Option<(Completion, Snapshot, String)> {
        let key = uri.as_str();
        let encoding = self.encoding();
        let at = LineCol {
            line: position.line,
            col: position.character,
        };
        let Ok(_slot) = self.completion_slots.clone().try_acquire_owned() else {
            self.report_completion_limit().await;
            return None;
        };
        let Some(snapshot) = self.documents.snapshot(key, at, encoding) else {
            tracing::debug!("completion for a document that is not open: {key}");
            return None;
        };
        self.surface.touch(uri, Some(snapshot.position.line));
        let request = CompletionRequest {
            text: snapshot.text.clone(),
            cursor: snapshot.cursor,
            language: snapshot.language.clone(),
            path: file_path(uri),
            neighbours: {
                let documents = self.documents.clone();
                let key = key.to_string();
                Neighbours::lazy(move || documents.neighbours(&key, NEIGHBOURS, NEIGHBOUR_BYTES))
            },
        };
        let generation = self.next_generation.fetch_add(1, Ordering::Relaxed);
        let mut newest = {
            let sender = self
                .generations
                .entry(format!("{kind} {key}"))
                .or_insert_with(|| watch::channel(0).0);
            sender.send_replace(generation);
            sender.subscribe()
        };
        let superseded = async move {
            while newest.changed().await.is_ok() {
                if *newest.borrow() != generation {
                    return;
                }
            }
            std::future::pending::<()>().await
        };
        tokio::select! {
            completion = self.engine.complete(request) => {
                let id = self.stats.served(&completion, &self.engine);
                if !completion.provider.is_empty() {
                    self.surface.served(&completion.provider);
                }
                self.status_changed.notify_one();
                Some((completion, snapshot, id))
            }
            () = superseded => {
                tracing::debug!("completion superseded by a newer request for {key}");
                None
            }
        }
    }

    async fn report_completion_limit(&self) {
        tracing::warn!(
            "over {MAX_CONCURRENT_COMPLETIONS} completions at once: answering the extra ones empty"
        );
        let now = std::time::Instant::now();
        let due = {
            let mut last = self
                .limit_reported
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|t| now.duration_since(t) > Duration::from_secs(60));
            if due {
                *last = Some(now);
            }
            due
        };
        if due {
            self.client
                .show_message(
                    MessageType::WARNING,
                    format!("Switchboard: more than {MAX_CONCURRENT_COMPLETIONS} completion requests at once; the extra ones get no suggestion"),
                )
                .await;
        }
    }

    pub async fn inline_completion(
        &self,
        params: InlineCompletionParams,
    ) -> Result<InlineCompletionResponse> {
        let uri = params.text_document.uri;
        Ok(
            match self.complete_at(&uri, params.position, "inline").await {
                Some((completion, snapshot, id)) => reply::inline(&completion, &snapshot, &id),
                None => InlineCompletionResponse::Items(Vec::new()),
            },
        )
    }
}

fn is_ours(diagnostic: &Diagnostic) -> bool {
    diagnostic.source.as_deref() == Some(surface::SOURCE)
}

fn file_path(uri: &Uri) -> Option<PathBuf> {
    uri.to_file_path().map(|p| p.into_owned())
}

fn workspace_root(params: &InitializeParams) -> Option<PathBuf> {
    if let Some(folder) = params.workspace_folders.as_ref().and_then(|f| f.first()) {
        return file_path(&folder.uri);
    }
    #[allow(deprecated)]
    params.root_uri.as_ref().and_then(file_path)
}

fn negotiate_encoding(params: &InitializeParams) -> Encoding {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref());
    match offered {
        Some(kinds) if kinds.contains(&PositionEncodingKind::UTF8) => Encoding::Utf8,
        _ => Encoding::Utf16,
    }
}

fn to_edit(change: TextDocumentContentChangeEvent) -> Edit {
    Edit {
        range: change.range.map(|r| {
            (
                LineCol {
                    line: r.start.line,
                    col: r.start.character,
                },
                LineCol {
                    line: r.end.line,
                    col: r.end.character,
                },
            )
        }),
        text: change.text,
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let encoding = negotiate_encoding(&params);
        let _ = self.encoding.set(encoding);
        let status_ui = params
            .capabilities
            .experimental
            .as_ref()
            .and_then(|e| e.get("switchboardStatus"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let _ = self.status_ui.set(status_ui);
        {
            let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
            sources.workspace_root = workspace_root(&params);
            sources.editor = params.initialization_options.clone();
        }
        let problems = self.reload_config();
        *self
            .pending_problems
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = problems;

        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(match encoding {
                    Encoding::Utf8 => PositionEncodingKind::UTF8,
                    Encoding::Utf16 => PositionEncodingKind::UTF16,
                }),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        ..Default::default()
                    },
                )),
                completion_provider: Some(CompletionOptions {
                    resolve_provider: Some(false),
                    ..Default::default()
                }),
                inline_completion_provider: Some(OneOf::Left(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
                        ..Default::default()
                    },
                )),
                execute_command_provider: Some(ExecuteCommandOptions {
                    commands: commands::ALL.iter().map(|c| c.to_string()).collect(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            server_info: Some(ServerInfo {
                name: "switchboard-ls".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        let problems = std::mem::take(
            &mut *self
                .pending_problems
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        self.report_problems(problems).await;
        self.restart_pollers();
        self.engine.start_cache_writer();
        self.stats.start(self.engine.clone());
        tokio::spawn(self.surface.clone().run(
            self.client.clone(),
            self.engine.clone(),
            self.documents.clone(),
            self.encoding(),
        ));
        // Every health change becomes a `switchboard/status` notification, sent from
        // its own task so a slow client never holds up a completion.
        // Anything else it shows (who is serving, counts) at most once a second.
        let mut events = self.engine.subscribe();
        let client = self.client.clone();
        let engine = self.engine.clone();
        let surface = self.surface.clone();
        let changed = self.status_changed.clone();
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            let mut last_sent: Option<tokio::time::Instant> = None;
            let mut last_value = serde_json::Value::Null;
            loop {
                tokio::select! {
                    event = events.recv() => {
                        if let Err(RecvError::Closed) = event {
                            return;
                        }
                        // Coalesce a burst of changes into one notification.
                        while events.try_recv().is_ok() {}
                    }
                    () = changed.notified() => {
                        if let Some(at) = last_sent {
                            tokio::time::sleep_until(at + Duration::from_secs(1)).await;
                        }
                    }
                }
                let value = status::status(
                    &engine.runtime(),
                    engine.cache_figures(),
                    surface.serving(),
                    surface.team.status(),
                );
                if value == last_value {
                    continue;
                }
                last_value = value.clone();
                last_sent = Some(tokio::time::Instant::now());
                client.send_notification::<StatusNotification>(value).await;
            }
        });
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let ours: Vec<Diagnostic> = if params.context.diagnostics.iter().any(is_ours) {
            params
                .context
                .diagnostics
                .into_iter()
                .filter(is_ours)
                .collect()
        } else {
            // Some clients send no diagnostics: offer ours on the requested lines.
            let lines = params.range.start.line..=params.range.end.line;
            self.surface
                .published()
                .into_iter()
                .filter(|d| lines.contains(&d.range.start.line))
                .collect()
        };
        let runtime = self.engine.runtime();
        Ok(Some(actions::for_diagnostics(&runtime, &ours)))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        self.run_command(&params.command, &params.arguments)
            .await
            .map(Some)
    }

    async fn shutdown(&self) -> Result<()> {
        let engine = self.engine.clone();
        let _ = tokio::task::spawn_blocking(move || engine.flush_cache()).await;
        self.stats.flush().await;
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        match self
            .documents
            .open(doc.uri.as_str(), &doc.text, doc.version, &doc.language_id)
        {
            // Opening alone does not move the status diagnostics (DESIGN.md §5): editors
            // open their own files in the background.
            Ok(()) => self.surface.opened(&doc.uri),
            Err(refused) => self.refuse(&doc.uri, refused).await,
        }
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let edits: Vec<Edit> = params.content_changes.into_iter().map(to_edit).collect();
        match self.documents.change(
            uri.as_str(),
            &edits,
            params.text_document.version,
            self.encoding(),
        ) {
            Ok(()) => self.surface.touch(&uri, None),
            Err(EditRejected::NotOpen) => {
                tracing::warn!(
                    "didChange for a document that is not open: {}",
                    uri.as_str()
                );
            }
            Err(refused) => self.refuse(&uri, refused).await,
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let key = params.text_document.uri.as_str();
        self.documents.close(key);
        self.generations.remove(&format!("inline {key}"));
        self.generations.remove(&format!("popup {key}"));
        self.surface.closed(&params.text_document.uri);
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        {
            let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
            let settings = params.settings;
            sources.editor = match settings.get("switchboard") {
                Some(inner) => Some(inner.clone()),
                None if settings.is_null() => None,
                None => Some(settings),
            };
        }
        let problems = self.reload_config();
        self.restart_pollers();
        self.report_problems(problems).await;
        let value = self.status_value();
        self.client
            .send_notification::<StatusNotification>(value)
            .await;
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let at = params.text_document_position;
        let list = match self
            .complete_at(&at.text_document.uri, at.position, "popup")
            .await
        {
            Some((completion, snapshot, id)) => {
                reply::completion_list(&completion, &snapshot, self.encoding(), &id)
            }
            None => CompletionList {
                is_incomplete: true,
                items: Vec::new(),
            },
        };
        Ok(Some(CompletionResponse::List(list)))
    }
}
