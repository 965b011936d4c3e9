//! Cleaning an answer so it fits at the cursor: models wrap code in fences, repeat
//! the line they were given, and write on past the cursor into code that already
//! follows it.

use crate::providers::ProviderRequest;

/// The part of `raw` that belongs at the cursor of `request`.
pub fn clean(raw: &str, request: &ProviderRequest) -> String {
    let mut text = strip_fences(raw).to_string();
    let line_before = current_line_before_cursor(&request.prefix);
    if !line_before.trim().is_empty() {
        // A chat model repeating the current line: keep only what comes after it.
        if let Some(rest) = text.strip_prefix(line_before) {
            text = rest.to_string();
        } else if let Some(rest) = text.strip_prefix(line_before.trim_start()) {
            text = rest.to_string();
        }
    }
    if request.single_line {
        let content_start = text.len() - text.trim_start_matches(['\n', '\r']).len();
        if content_start > 0 {
            // The rest of this line was wanted; an answer that starts on the next line
            // does not belong here.
            return String::new();
        }
        if let Some(end) = text.find(['\n', '\r']) {
            text.truncate(end);
        }
    }
    text = strip_repeated_suffix(&text, &request.suffix);
    let trimmed = text.trim_end();
    if trimmed.trim().is_empty() {
        return String::new();
    }
    trimmed.to_string()
}

fn current_line_before_cursor(prefix: &str) -> &str {
    &prefix[prefix.rfind('\n').map_or(0, |i| i + 1)..]
}

/// "```rust\ncode\n```" → "code". Text without a leading fence is kept as is, up to
/// a closing fence on its own line.
fn strip_fences(text: &str) -> &str {
    let mut body = text;
    let leading = body.trim_start();
    if leading.starts_with("```") {
        body = leading.find('\n').map_or("", |i| &leading[i + 1..]);
    }
    if let Some(at) = body
        .find("\n```")
        .or_else(|| body.starts_with("```").then_some(0))
    {
        body = &body[..at];
    }
    body
}

/// Cuts what repeats the code after the cursor: an ending that equals the start of
/// the suffix (`a + b)` before `)`), or a line that equals the suffix's next line.
fn strip_repeated_suffix(text: &str, suffix: &str) -> String {
    let suffix_line = suffix.split('\n').next().unwrap_or("").trim_end();
    // Longest overlap of text's end with the suffix's start, on the current line.
    if !suffix_line.trim().is_empty() {
        let max = text.len().min(suffix_line.len());
        for len in (1..=max).rev() {
            if !suffix_line.is_char_boundary(len) || !text.is_char_boundary(text.len() - len) {
                continue;
            }
            let overlap = &suffix_line[..len];
            if text.ends_with(overlap) && !overlap.trim().is_empty() {
                return text[..text.len() - len].to_string();
            }
        }
    }
    // A multi-line answer that runs into the code below the cursor.
    let next_code_line = suffix
        .split('\n')
        .skip(if suffix_line.trim().is_empty() { 1 } else { 0 })
        .map(str::trim)
        .find(|l| !l.is_empty());
    if let Some(next) = next_code_line {
        let trimmed = text.trim_end();
        if let Some(newline) = trimmed.rfind('\n')
            && trimmed[newline + 1..].trim() == next
        {
            return trimmed[..newline].to_string();
        }
    }
    // Longer lines are distinctive enough to cut at their first repeat.
    if let Some(next) = next_code_line
        && next.len() >= 4
    {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if offset > 0 && line.trim() == next {
                return text[..offset].to_string();
            }
            offset += line.len();
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn request(prefix: &str, suffix: &str, single_line: bool) -> ProviderRequest {
        ProviderRequest {
            prefix: prefix.into(),
            suffix: suffix.into(),
            language: "rust".into(),
            path: None,
            max_tokens: 64,
            single_line,
            document: Arc::from(""),
            cursor: 0,
            neighbours: Default::default(),
        }
    }

    #[test]
    fn code_fences_are_removed() {
        let r = request("fn add(a: i32, b: i32) -> i32 {\n    ", "\n}", false);
        assert_eq!(clean("```rust\na + b\n```\n", &r), "a + b");
        assert_eq!(clean("a + b\n```", &r), "a + b");
    }

    #[test]
    fn a_repeated_suffix_is_cut() {
        let r = request("let x = add(", ");\n", false);
        assert_eq!(clean("a, b);", &r), "a, b");
        let r = request("fn f() {\n    ", "\n}\n", false);
        assert_eq!(clean("let y = 1;\n}\n", &r), "let y = 1;");
    }

    #[test]
    fn a_repeated_current_line_is_dropped() {
        let r = request("fn main() {\n    let total = ", "\n}", false);
        assert_eq!(clean("    let total = items.len();", &r), "items.len();");
        assert_eq!(clean("let total = items.len();", &r), "items.len();");
    }

    #[test]
    fn single_line_requests_keep_the_first_line_only() {
        let r = request("let x = ", " + 1;", true);
        assert_eq!(clean("foo()\nbar()", &r), "foo()");
        assert_eq!(clean("\nfoo()", &r), "");
    }

    #[test]
    fn whitespace_only_is_nothing() {
        let r = request("x", "", false);
        assert_eq!(clean("  \n ", &r), "");
    }
}
