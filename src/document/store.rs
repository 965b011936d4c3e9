//! The set of open documents, shared by concurrent LSP handlers.
//!
//! Every operation is synchronous and short (no `.await` while holding an entry), so a
//! `didChange` is applied before any later request is looked at, and a completion
//! snapshots the text it was asked about.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use dashmap::DashMap;

use super::{Document, Edit, Encoding, LineCol, to_char};

/// A document's text at one version, and the cursor in it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub text: Arc<str>,
    pub version: i32,
    pub language: String,
    /// Byte offset of the cursor in `text`.
    pub cursor: usize,
    /// The cursor as a clamped position.
    pub position: LineCol,
}

/// The largest document kept; bigger ones get no completions (and cost no memory).
pub const MAX_DOCUMENT_BYTES: usize = 32 << 20;
/// All open documents together, at most.
pub const MAX_TOTAL_BYTES: usize = 512 << 20;

#[derive(Debug, Default)]
pub struct DocumentStore {
    documents: DashMap<String, Entry>,
    clock: AtomicU64,
    /// Bytes of every open document.
    total: AtomicUsize,
    /// The flat text of the document last completed in, at its version: repeated
    /// completions on unchanged text (cache hits) do not copy it again, and only one
    /// such copy is ever kept.
    last_text: std::sync::Mutex<Option<(String, u64, Arc<str>)>>,
}

#[derive(Debug)]
struct Entry {
    document: Document,
    /// When the document was last opened, changed or completed in (a logical clock).
    touched: u64,
    /// Our own version of the text: a new value on every open and change, whatever
    /// versions the client sends (they restart after a reopen).
    revision: u64,
}

/// Why a document was not kept or an edit not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditRejected {
    #[error("the document is not open")]
    NotOpen,
    /// The document would be bigger than [`MAX_DOCUMENT_BYTES`]; it is closed.
    #[error(
        "the document is {:.1} MB, over the {} MB limit: no completions for it",
        megabytes(*bytes),
        MAX_DOCUMENT_BYTES >> 20
    )]
    TooLarge { bytes: usize },
    /// All open documents would be bigger than [`MAX_TOTAL_BYTES`]; it is closed.
    #[error(
        "open documents would take {:.1} MB, over the {} MB limit: no completions for this one",
        megabytes(*bytes),
        MAX_TOTAL_BYTES >> 20
    )]
    StoreFull { bytes: usize },
}

fn megabytes(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

impl DocumentStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn open(
        &self,
        uri: &str,
        text: &str,
        version: i32,
        language: &str,
    ) -> Result<(), EditRejected> {
        self.close(uri);
        self.admit(text.len())?;
        let touched = self.tick();
        self.documents.insert(
            uri.to_string(),
            Entry {
                document: Document::new(text, version, language),
                touched,
                revision: touched,
            },
        );
        Ok(())
    }

    /// Reserves `bytes` for a document, or says which limit it breaks.
    fn admit(&self, bytes: usize) -> Result<(), EditRejected> {
        if bytes > MAX_DOCUMENT_BYTES {
            return Err(EditRejected::TooLarge { bytes });
        }
        let total = self.total.fetch_add(bytes, Ordering::SeqCst) + bytes;
        if total > MAX_TOTAL_BYTES {
            self.total.fetch_sub(bytes, Ordering::SeqCst);
            return Err(EditRejected::StoreFull { bytes: total });
        }
        Ok(())
    }

    /// Applies edits; a document that grows past a limit is closed.
    pub fn change(
        &self,
        uri: &str,
        edits: &[Edit],
        version: i32,
        encoding: Encoding,
    ) -> Result<(), EditRejected> {
        let touched = self.tick();
        let mut entry = self.documents.get_mut(uri).ok_or(EditRejected::NotOpen)?;
        let before = entry.document.len_bytes();
        entry.document.apply(edits, version, encoding);
        entry.touched = touched;
        entry.revision = touched;
        let after = entry.document.len_bytes();
        drop(entry);
        self.total.fetch_sub(before, Ordering::SeqCst);
        if let Err(rejected) = self.admit(after) {
            self.documents.remove(uri);
            return Err(rejected);
        }
        Ok(())
    }

    pub fn close(&self, uri: &str) {
        let mut last = self.last_text.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_ref().is_some_and(|(u, _, _)| u == uri) {
            *last = None;
        }
        drop(last);
        if let Some((_, entry)) = self.documents.remove(uri) {
            self.total
                .fetch_sub(entry.document.len_bytes(), Ordering::SeqCst);
        }
    }

    pub fn is_open(&self, uri: &str) -> bool {
        self.documents.contains_key(uri)
    }

    pub fn len(&self) -> usize {
        self.documents.len()
    }

    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// The text of `uri` with the cursor at `position` (clamped).
    pub fn snapshot(&self, uri: &str, position: LineCol, encoding: Encoding) -> Option<Snapshot> {
        let touched = self.tick();
        let mut entry = self.documents.get_mut(uri)?;
        entry.touched = touched;
        let document = &entry.document;
        let char_idx = to_char(document.rope(), position, encoding);
        let cursor = document.rope().char_to_byte(char_idx);
        let position = super::from_char(document.rope(), char_idx, encoding);
        let version = document.version();
        let revision = entry.revision;
        let text = {
            let mut last = self.last_text.lock().unwrap_or_else(|e| e.into_inner());
            match &*last {
                Some((last_uri, last_revision, text))
                    if last_uri == uri && *last_revision == revision =>
                {
                    text.clone()
                }
                _ => {
                    let text = document.text();
                    *last = Some((uri.to_string(), revision, text.clone()));
                    text
                }
            }
        };
        Some(Snapshot {
            text,
            version,
            language: document.language().to_string(),
            cursor,
            position,
        })
    }

    /// Where a status diagnostic on `line` of `uri` is drawn (DESIGN.md §5): from the
    /// line's first non-blank character to its end, at least one character wide, so it
    /// can be seen and hovered. `None` when the document is not open.
    pub fn line_span(
        &self,
        uri: &str,
        line: u32,
        encoding: Encoding,
    ) -> Option<(LineCol, LineCol)> {
        let entry = self.documents.get(uri)?;
        let rope = entry.document.rope();
        let line = (line as usize).min(rope.len_lines().saturating_sub(1));
        let start = rope.line_to_char(line);
        let text = rope.line(line);
        let content = text
            .chars()
            .take_while(|c| *c != '\n' && *c != '\r')
            .count();
        let first = text
            .chars()
            .take(content)
            .position(|c| !c.is_whitespace())
            .unwrap_or(0);
        let from = super::from_char(rope, start + first, encoding);
        let mut to = super::from_char(rope, start + content, encoding);
        if to.col <= from.col {
            to.col = from.col + 1;
        }
        Some((from, to))
    }

    /// The texts of up to `limit` other open documents, most recently touched first,
    /// stopping once `max_bytes` are collected. The local engine searches these.
    pub fn neighbours(&self, except: &str, limit: usize, max_bytes: usize) -> Vec<Arc<str>> {
        let mut candidates: Vec<(u64, String)> = self
            .documents
            .iter()
            .filter(|e| e.key() != except)
            .map(|e| (e.touched, e.key().clone()))
            .collect();
        candidates.sort_unstable_by_key(|c| std::cmp::Reverse(c.0));
        let mut out = Vec::new();
        let mut bytes = 0;
        for (_, uri) in candidates.into_iter().take(limit) {
            let Some(entry) = self.documents.get(&uri) else {
                continue;
            };
            if bytes + entry.document.len_bytes() > max_bytes {
                continue;
            }
            bytes += entry.document.len_bytes();
            out.push(entry.document.text());
        }
        out
    }
}
