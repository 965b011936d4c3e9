//! LSP 3.18 `textDocument/inlineCompletion` types, spec-exact.
//!
//! Defined here rather than taken from `ls-types` so the wire shape is pinned by our
//! own tests; registered with `custom_method`.

use serde::{Deserialize, Serialize};
use tower_lsp_server::ls_types::{Command, Position, Range, TextDocumentIdentifier};

pub const METHOD: &str = "textDocument/inlineCompletion";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineCompletionParams {
    pub text_document: TextDocumentIdentifier,
    pub position: Position,
    /// Required by the spec; tolerated when missing.
    #[serde(default)]
    pub context: InlineCompletionContext,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InlineCompletionContext {
    /// 1 = Invoked, 2 = Automatic.
    #[serde(default = "automatic")]
    pub trigger_kind: u8,
    #[serde(default)]
    pub selected_completion_info: Option<SelectedCompletionInfo>,
}

fn automatic() -> u8 {
    2
}

#[derive(Debug, Clone, Deserialize)]
pub struct SelectedCompletionInfo {
    pub range: Range,
    pub text: String,
}

/// `InlineCompletionList | InlineCompletionItem[]`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum InlineCompletionResponse {
    List(InlineCompletionList),
    Items(Vec<InlineCompletionItem>),
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InlineCompletionList {
    pub items: Vec<InlineCompletionItem>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InlineCompletionItem {
    /// A plain string (a `StringValue` snippet is never sent).
    pub insert_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Command>,
}
