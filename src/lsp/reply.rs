//! A [`Completion`] → the LSP result shapes of DESIGN.md §5.

use serde_json::json;
use tower_lsp_server::ls_types::{
    Command, CompletionItem, CompletionItemKind, CompletionList, CompletionTextEdit,
    InsertTextFormat, Position, Range, TextEdit,
};

use super::inline::{InlineCompletionItem, InlineCompletionList, InlineCompletionResponse};
use crate::document::{Encoding, Snapshot, width};
use crate::engine::Completion;

const MAX_LABEL_CHARS: usize = 80;

/// The command an item carries, run by the editor when the user accepts it.
fn accepted(id: &str) -> Command {
    Command {
        title: "Switchboard: suggestion accepted".to_string(),
        command: super::commands::ACCEPTED.to_string(),
        arguments: Some(vec![json!(id)]),
    }
}

/// `{"items":[{insertText, range: cursor..cursor, command}]}`, or `[]` when there is
/// nothing. `id` is the suggestion's id for `switchboard.accepted`.
pub fn inline(completion: &Completion, snapshot: &Snapshot, id: &str) -> InlineCompletionResponse {
    if completion.text.is_empty() {
        return InlineCompletionResponse::Items(Vec::new());
    }
    let cursor = position(snapshot);
    InlineCompletionResponse::List(InlineCompletionList {
        items: vec![InlineCompletionItem {
            insert_text: completion.text.clone(),
            filter_text: None,
            range: Some(Range::new(cursor, cursor)),
            command: Some(accepted(id)),
        }],
    })
}

/// One item whose edit replaces the word before the cursor with that word plus the
/// suggestion, so it filters and inserts correctly mid-word. `id` is the suggestion's
/// id for `switchboard.accepted`.
pub fn completion_list(
    completion: &Completion,
    snapshot: &Snapshot,
    encoding: Encoding,
    id: &str,
) -> CompletionList {
    if completion.text.is_empty() {
        return CompletionList {
            is_incomplete: true,
            items: Vec::new(),
        };
    }
    let cursor = position(snapshot);
    let typed = word_before(snapshot.text.get(..snapshot.cursor).unwrap_or(""));
    let start = Position::new(
        cursor.line,
        cursor.character.saturating_sub(width(typed, encoding)),
    );
    let new_text = format!("{typed}{}", completion.text);
    let first_line = new_text.lines().next().unwrap_or("").to_string();
    let label = if first_line.chars().count() > MAX_LABEL_CHARS {
        let cut: String = first_line.chars().take(MAX_LABEL_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        first_line.clone()
    };
    let detail = if completion.cached {
        "cache".to_string()
    } else {
        format!(
            "{} · {}ms",
            completion.provider,
            completion.latency.as_millis()
        )
    };
    let item = CompletionItem {
        label,
        kind: Some(CompletionItemKind::TEXT),
        detail: Some(detail),
        filter_text: Some(first_line),
        insert_text_format: Some(InsertTextFormat::PLAIN_TEXT),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
            Range::new(start, cursor),
            new_text,
        ))),
        preselect: Some(true),
        command: Some(accepted(id)),
        data: Some(json!({
            "provider": completion.provider,
            "cached": completion.cached,
            "stale": completion.stale,
            "latency_ms": completion.latency.as_millis() as u64,
        })),
        ..Default::default()
    };
    CompletionList {
        is_incomplete: true,
        items: vec![item],
    }
}

fn position(snapshot: &Snapshot) -> Position {
    Position::new(snapshot.position.line, snapshot.position.col)
}

/// The identifier characters right before the cursor.
fn word_before(before: &str) -> &str {
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(before.len(), |(i, _)| i);
    &before[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_before_stops_at_non_word_chars() {
        assert_eq!(word_before("let x = re"), "re");
        assert_eq!(word_before("foo."), "");
        assert_eq!(word_before("日本語"), "日本語");
        assert_eq!(word_before(""), "");
    }
}
