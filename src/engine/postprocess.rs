//! Cleaning an answer so it fits at the cursor, as the model meant it (DESIGN.md §5
//! "What is inserted"): code is taken out of fences and prose, a repeated current line
//! is dropped, what repeats the code after the cursor is cut — a closing bracket or
//! quote only when the answer's own brackets leave it unmatched — and a multi-line
//! answer is indented for the cursor's line in the document's style and line endings.

use std::borrow::Cow;

use super::brackets::{self, Syntax};
use super::indent::{self, IndentStyle};
use crate::providers::ProviderRequest;

/// How a provider writes its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerStyle {
    /// A chat model writing the missing code on its own: it may repeat the current
    /// line, fence the code, wrap it in prose, and indent a block from column 0.
    Chat,
    /// A fill-in-the-middle model continuing the document in place.
    Fill,
}

/// The part of `raw` that belongs at the cursor of `request`, for a fill-in-the-middle
/// answer. See [`clean_as`].
pub fn clean(raw: &str, request: &ProviderRequest) -> String {
    clean_as(raw, request, AnswerStyle::Fill)
}

/// The part of `raw` that belongs at the cursor of `request`, written by a provider
/// answering in `style`. Empty when nothing fits.
pub fn clean_as(raw: &str, request: &ProviderRequest, style: AnswerStyle) -> String {
    let crlf = uses_crlf(&request.prefix, &request.suffix);
    let raw = lf(raw);
    let prefix = lf(&request.prefix);
    let suffix = lf(&request.suffix);
    let line_before = current_line_before_cursor(&prefix);
    let syntax = Syntax::for_language(&request.language);

    let mut text = extract_code(&raw).to_string();
    if style == AnswerStyle::Chat {
        text = drop_prose_intro(&text).to_string();
    }
    // Read as the document's own indentation (not relative to column 0).
    let mut absolute = false;
    if !line_before.trim().is_empty() {
        // A chat model repeating the current line: keep only what comes after it.
        if let Some(rest) = text.strip_prefix(line_before) {
            text = rest.to_string();
            absolute = true;
        } else if let Some(rest) = text.strip_prefix(line_before.trim_start()) {
            text = rest.to_string();
        }
    } else if !line_before.is_empty()
        && let Some(rest) = text.strip_prefix(line_before)
        && !rest.starts_with([' ', '\t'])
    {
        // The cursor sits after the indentation and the answer repeats it.
        text = rest.to_string();
        absolute = true;
    }
    if request.single_line {
        let content_start = text.len() - text.trim_start_matches('\n').len();
        if content_start > 0 {
            // The rest of this line was wanted; an answer that starts on the next line
            // does not belong here.
            return String::new();
        }
        if let Some(end) = text.find('\n') {
            text.truncate(end);
        }
    }
    if text.contains('\n') {
        text = indent::convert(&text, IndentStyle::of(line_before, &prefix, &suffix));
        if style == AnswerStyle::Chat && !absolute {
            let lines: Vec<&str> = text.split('\n').collect();
            if indent::is_relative(lines[0], line_before, &lines[1..]) {
                text = indent::shift(&text, indent::leading_ws(line_before));
            }
        }
    }
    let (text, cut_on_line) = strip_repeated_suffix(&text, &suffix, line_before, syntax);
    let mut end = text.trim_end().len();
    if end == 0 || text.trim().is_empty() {
        return String::new();
    }
    if cut_on_line {
        // `{ name: "Ada", age: 36 }` before `}`, or `\n  }` before `}`: the space or
        // line break in front of the repeated closer belongs to the answer.
        end = text.len();
    }
    if crlf {
        text[..end].replace('\n', "\r\n")
    } else {
        text[..end].to_string()
    }
}

/// Whether the document around the cursor ends its lines with CRLF.
fn uses_crlf(prefix: &str, suffix: &str) -> bool {
    let before = prefix.rfind('\n').map(|i| prefix[..i].ends_with('\r'));
    let after = suffix.find('\n').map(|i| suffix[..i].ends_with('\r'));
    before.or(after).unwrap_or(false)
}

/// `text` with CRLF line endings as LF.
fn lf(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

fn current_line_before_cursor(prefix: &str) -> &str {
    &prefix[prefix.rfind('\n').map_or(0, |i| i + 1)..]
}

/// The code of an answer: the inside of its first fenced block (prose before and after
/// dropped), or, without an opening fence, everything up to a closing fence.
fn extract_code(text: &str) -> &str {
    let mut fences = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("```") {
            fences.push((offset, offset + line.len()));
        }
        offset += line.len();
    }
    let Some(&(first_start, first_end)) = fences.first() else {
        return text;
    };
    let before = &text[..first_start];
    let fence_line = text[first_start..first_end].trim();
    let opens = before.trim().is_empty()
        || fences.len() >= 2
        || fence_line.len() > 3
        || before.trim_end().ends_with(':');
    if !opens {
        // Code, then a closing fence.
        return text[..first_start].strip_suffix('\n').unwrap_or(before);
    }
    let body_end = fences.get(1).map_or(text.len(), |&(start, _)| start);
    let body = &text[first_end.min(body_end)..body_end];
    body.strip_suffix('\n').unwrap_or(body)
}

/// "Here is the completion:\nx + 1" without a fence → "x + 1".
fn drop_prose_intro(text: &str) -> &str {
    let start = text.len() - text.trim_start_matches('\n').len();
    match text[start..].split_once('\n') {
        Some((first, rest)) if crate::providers::is_prose_intro(first) => {
            rest.trim_start_matches('\n')
        }
        _ => text,
    }
}

/// Cuts what repeats the code after the cursor: an ending that equals the start of the
/// rest of the line (a closing bracket or quote only when the answer did not open it),
/// or lines that equal the code below. `true` when the cut was on the cursor's line.
fn strip_repeated_suffix(
    text: &str,
    suffix: &str,
    line_before: &str,
    syntax: Syntax,
) -> (String, bool) {
    let suffix_line = suffix.split('\n').next().unwrap_or("").trim_end();
    // The answer's end repeating the start of what follows the cursor: on this line
    // (`a, b)` before `)`), or across lines (a FIM model writing on past `]\n}`).
    let head = suffix.trim_end();
    if !head.trim().is_empty()
        && let Some(cut) = repeated_line_end(text, head, line_before, syntax)
    {
        return (text[..cut].to_string(), true);
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
            && !closes_its_own(trimmed, newline + 1, line_before, syntax)
        {
            return (trimmed[..newline].to_string(), false);
        }
    }
    // Longer lines are distinctive enough to cut at their first repeat.
    if let Some(next) = next_code_line
        && next.len() >= 4
    {
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if offset > 0 && line.trim() == next {
                return (text[..offset].to_string(), false);
            }
            offset += line.len();
        }
    }
    (text.to_string(), false)
}

/// Where to cut `text` so that its end does not repeat the start of `suffix`; `None`
/// when nothing truly repeats. A repeated part with brackets or quotes is cut only if
/// each of them closes something opened before the answer; one without is cut only if
/// it is a few characters long and starts on a token boundary. A `;` or `,` the answer
/// writes after such closers goes with them.
fn repeated_line_end(text: &str, suffix: &str, line_before: &str, syntax: Syntax) -> Option<usize> {
    let marks = brackets::closes_outside(line_before, text, syntax);
    // Byte offset of each char of `text`, and its mark.
    let chars: Vec<(usize, char, bool)> = text
        .char_indices()
        .zip(marks)
        .map(|((at, c), m)| (at, c, m))
        .collect();
    let trailing_punct = text.len() - text.trim_end_matches([';', ',']).len();
    let candidates: &[usize] = if trailing_punct > 0 {
        &[0, trailing_punct]
    } else {
        &[0]
    };
    for &dropped in candidates {
        let end = text.len() - dropped;
        let body = &text[..end];
        let max = body.len().min(suffix.len());
        for len in (1..=max).rev() {
            if !suffix.is_char_boundary(len) || !body.is_char_boundary(end - len) {
                continue;
            }
            let overlap = &suffix[..len];
            if !body.ends_with(overlap) || overlap.trim().is_empty() {
                continue;
            }
            let start = end - len;
            let in_overlap = chars.iter().filter(|(at, _, _)| *at >= start && *at < end);
            let closers: Vec<bool> = in_overlap
                .filter(|(_, c, _)| brackets::is_closer(*c) || matches!(c, '(' | '[' | '{'))
                .map(|(_, c, m)| *m && brackets::is_closer(*c))
                .collect();
            let repeats = if closers.is_empty() {
                dropped == 0 && is_distinct_code(body, start)
            } else {
                closers.iter().all(|m| *m)
            };
            if repeats {
                return Some(start);
            }
        }
    }
    None
}

/// Whether the brackets on `text[from..]` close brackets the answer itself opened
/// (an answer's own `}` is not the `}` below the cursor).
fn closes_its_own(text: &str, from: usize, line_before: &str, syntax: Syntax) -> bool {
    let marks = brackets::closes_outside(line_before, text, syntax);
    text.char_indices()
        .zip(marks)
        .any(|((at, c), outside)| at >= from && matches!(c, ')' | ']' | '}') && !outside)
}

/// A bracket-free repeat is trusted when it is at least three characters long and
/// does not start in the middle of a word.
fn is_distinct_code(body: &str, start: usize) -> bool {
    let overlap = &body[start..];
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mid_word = body[..start].chars().next_back().is_some_and(word)
        && overlap.chars().next().is_some_and(word);
    overlap.trim().chars().count() >= 3 && !mid_word
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prefix: &str, suffix: &str, single_line: bool) -> ProviderRequest {
        ProviderRequest {
            single_line,
            ..ProviderRequest::around(prefix, suffix, "rust")
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

    #[test]
    fn a_balanced_answer_keeps_its_last_bracket() {
        let r = request("    return math.sqrt(", ")\n", false);
        assert_eq!(clean("(a * a) + (b * b)", &r), "(a * a) + (b * b)");
        assert_eq!(
            clean("math.fsum([a * a, b * b])", &r),
            "math.fsum([a * a, b * b])"
        );
        assert_eq!(clean("pow(a, 2) + pow(b, 2))", &r), "pow(a, 2) + pow(b, 2)");
    }

    #[test]
    fn quotes_and_brackets_in_strings_do_not_count() {
        let mut r = request("    print(\"", "\")\n", false);
        r.language = "python".into();
        assert_eq!(clean("hello\")", &r), "hello");
        let mut r = request("    print(", ")\n", false);
        r.language = "python".into();
        assert_eq!(clean("\")\"", &r), "\")\"");
    }

    #[test]
    fn a_closing_bracket_with_a_semicolon_after_it_goes_with_it() {
        let r = request("    let x = add(", ")\n", false);
        assert_eq!(clean("a, b);", &r), "a, b");
    }

    #[test]
    fn prose_around_fenced_code_is_dropped() {
        let r = request("def f(x):\n    ", "\n", false);
        let raw = "Here is the completion:\n```python\nreturn x * 2\n```\nThis doubles x.";
        assert_eq!(clean_as(raw, &r, AnswerStyle::Chat), "return x * 2");
    }

    #[test]
    fn a_chat_block_from_column_zero_is_indented_for_the_cursor_line() {
        let r = request("def f(xs):\n    ", "\n", false);
        let raw = "for x in xs:\n    print(x)";
        assert_eq!(
            clean_as(raw, &r, AnswerStyle::Chat),
            "for x in xs:\n        print(x)"
        );
        assert_eq!(clean(raw, &r), raw);
    }

    #[test]
    fn crlf_documents_get_crlf() {
        let r = request("fn f() {\r\n    ", "\r\n}\r\n", false);
        assert_eq!(
            clean("let a = 1;\n    let b = 2;", &r),
            "let a = 1;\r\n    let b = 2;"
        );
    }

    #[test]
    fn tab_documents_get_tabs() {
        let r = request("func f() {\n\t", "\n}\n", false);
        assert_eq!(
            clean("if x {\n        y()\n    }", &r),
            "if x {\n\t\ty()\n\t}"
        );
    }
}
