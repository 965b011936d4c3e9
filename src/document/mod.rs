//! Open documents: text on a rope, incremental edits, and snapshots for completion.
//!
//! Architecture invariant: this module knows positions and encodings but nothing
//! about LSP types; `src/lsp/` converts its `Range`s into [`Edit`]s.

mod position;
mod store;

use std::sync::Arc;

use ropey::Rope;

pub use position::{Encoding, LineCol, from_char, to_char, width};
pub use store::{DocumentStore, EditRejected, MAX_DOCUMENT_BYTES, MAX_TOTAL_BYTES, Snapshot};

/// One change from a `didChange`: replace `range` (or the whole text when `None`).
#[derive(Debug, Clone)]
pub struct Edit {
    pub range: Option<(LineCol, LineCol)>,
    pub text: String,
}

/// An open document.
#[derive(Debug)]
pub struct Document {
    rope: Rope,
    version: i32,
    language: String,
}

impl Document {
    pub fn new(text: &str, version: i32, language: &str) -> Self {
        Document {
            rope: Rope::from_str(text),
            version,
            language: language.to_string(),
        }
    }

    pub fn rope(&self) -> &Rope {
        &self.rope
    }

    pub fn version(&self) -> i32 {
        self.version
    }

    pub fn language(&self) -> &str {
        &self.language
    }

    /// Applies edits in order. A range is clamped into the document and a reversed
    /// range is treated as empty at its start, so no edit can panic.
    pub fn apply(&mut self, edits: &[Edit], version: i32, encoding: Encoding) {
        for edit in edits {
            match edit.range {
                None => self.rope = Rope::from_str(&edit.text),
                Some((from, to)) => {
                    let start = to_char(&self.rope, from, encoding);
                    // A keystroke is an insertion: one position to convert, not two.
                    let end = if to == from {
                        start
                    } else {
                        to_char(&self.rope, to, encoding).max(start)
                    };
                    if end > start {
                        self.rope.remove(start..end);
                    }
                    if !edit.text.is_empty() {
                        self.rope.insert(start, &edit.text);
                    }
                }
            }
        }
        self.version = version;
    }

    /// The whole text as one string (a copy: the rope is the document).
    pub fn text(&self) -> Arc<str> {
        Arc::from(String::from(&self.rope))
    }

    pub fn len_bytes(&self) -> usize {
        self.rope.len_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, col: u32) -> LineCol {
        LineCol { line, col }
    }

    #[test]
    fn incremental_edits_apply_in_order() {
        let mut doc = Document::new("fn main() {\n}\n", 1, "rust");
        doc.apply(
            &[
                Edit {
                    range: Some((at(0, 11), at(0, 11))),
                    text: "\n    let x = 1;".into(),
                },
                Edit {
                    range: Some((at(1, 8), at(1, 9))),
                    text: "y".into(),
                },
            ],
            2,
            Encoding::Utf16,
        );
        assert_eq!(&*doc.text(), "fn main() {\n    let y = 1;\n}\n");
        assert_eq!(doc.version(), 2);
    }

    #[test]
    fn reversed_and_out_of_range_edits_do_not_panic() {
        let mut doc = Document::new("abc", 1, "text");
        doc.apply(
            &[
                Edit {
                    range: Some((at(0, 2), at(0, 1))),
                    text: "X".into(),
                },
                Edit {
                    range: Some((at(9, 9), at(12, 0))),
                    text: "!".into(),
                },
            ],
            2,
            Encoding::Utf8,
        );
        assert_eq!(&*doc.text(), "abXc!");
    }
}
