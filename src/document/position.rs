//! Editor positions (line + column in the negotiated encoding) ↔ rope char indices.
//!
//! Every conversion clamps: a line past the end means the end of the document, a
//! column past the end of a line means the end of that line, and a UTF-16 offset in
//! the middle of a surrogate pair (or a UTF-8 offset inside a character) rounds down
//! to the start of that character. Nothing an editor sends can make these panic.

use ropey::Rope;

/// The unit of the `character` field of an LSP position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    Utf8,
    #[default]
    Utf16,
}

/// A zero-based line and column, the column counted in `Encoding` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

/// The char index of `pos`, clamped into the document.
pub fn to_char(rope: &Rope, pos: LineCol, encoding: Encoding) -> usize {
    let line = pos.line as usize;
    if line >= rope.len_lines() {
        return rope.len_chars();
    }
    let line_start = rope.line_to_char(line);
    let line_end = line_start + line_len_without_break(rope, line);
    let col = pos.col as usize;
    let char_idx = match encoding {
        Encoding::Utf16 => {
            let start_cu = rope.char_to_utf16_cu(line_start);
            let end_cu = rope.char_to_utf16_cu(line_end);
            rope.utf16_cu_to_char(start_cu.saturating_add(col).min(end_cu))
        }
        Encoding::Utf8 => {
            let start_byte = rope.char_to_byte(line_start);
            let end_byte = rope.char_to_byte(line_end);
            rope.byte_to_char(start_byte.saturating_add(col).min(end_byte))
        }
    };
    char_idx.clamp(line_start, line_end)
}

/// The position of a char index (clamped to the end of the document).
pub fn from_char(rope: &Rope, char_idx: usize, encoding: Encoding) -> LineCol {
    let char_idx = char_idx.min(rope.len_chars());
    let line = rope.char_to_line(char_idx);
    let line_start = rope.line_to_char(line);
    let col = match encoding {
        Encoding::Utf16 => rope.char_to_utf16_cu(char_idx) - rope.char_to_utf16_cu(line_start),
        Encoding::Utf8 => rope.char_to_byte(char_idx) - rope.char_to_byte(line_start),
    };
    LineCol {
        line: line as u32,
        col: col as u32,
    }
}

/// The width of `text` in `encoding` units.
pub fn width(text: &str, encoding: Encoding) -> u32 {
    match encoding {
        Encoding::Utf8 => text.len() as u32,
        Encoding::Utf16 => text.encode_utf16().count() as u32,
    }
}

/// Chars in `line`, not counting its line break (`\n`, `\r\n` or `\r`).
fn line_len_without_break(rope: &Rope, line: usize) -> usize {
    let slice = rope.line(line);
    let len = slice.len_chars();
    if len == 0 {
        return 0;
    }
    match slice.char(len - 1) {
        '\n' if len >= 2 && slice.char(len - 2) == '\r' => len - 2,
        '\n' | '\r' => len - 1,
        _ => len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(line: u32, col: u32) -> LineCol {
        LineCol { line, col }
    }

    #[test]
    fn utf16_columns_count_surrogate_pairs_as_two() {
        let rope = Rope::from_str("a😀b\nx");
        assert_eq!(to_char(&rope, at(0, 3), Encoding::Utf16), 2);
        // Inside the surrogate pair: rounds down to the emoji.
        assert_eq!(to_char(&rope, at(0, 2), Encoding::Utf16), 1);
        assert_eq!(from_char(&rope, 2, Encoding::Utf16), at(0, 3));
    }

    #[test]
    fn utf8_columns_count_bytes_and_round_down_inside_a_char() {
        let rope = Rope::from_str("日本x");
        assert_eq!(to_char(&rope, at(0, 3), Encoding::Utf8), 1);
        assert_eq!(to_char(&rope, at(0, 4), Encoding::Utf8), 1);
        assert_eq!(from_char(&rope, 2, Encoding::Utf8), at(0, 6));
    }

    #[test]
    fn out_of_range_positions_clamp() {
        let rope = Rope::from_str("ab\r\ncd");
        assert_eq!(to_char(&rope, at(0, 99), Encoding::Utf16), 2);
        assert_eq!(to_char(&rope, at(7, 0), Encoding::Utf16), 6);
        assert_eq!(to_char(&rope, at(1, 1), Encoding::Utf8), 5);
        assert_eq!(from_char(&rope, 99, Encoding::Utf16), at(1, 2));
    }
}
