//! `local`: the built-in offline engine. Deterministic, no network, always last in
//! the chain.
//!
//! It continues the current line from the best-matching earlier text: the longest
//! tail of what precedes the cursor (up to [`MAX_NEEDLE_CHARS`]) that also occurs
//! elsewhere — nearest first in this document before the cursor, then after it, then
//! in the other open documents — and proposes what followed that occurrence up to
//! the end of its line. Code repeats itself (calls, field names, imports, `match`
//! arms, the next line of a pattern), so this is often exactly right, and it answers
//! in microseconds: the longest match is found by binary search over needle lengths
//! (a tail that occurs implies every shorter tail occurs), each probe a SIMD substring
//! search.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use memchr::memmem;

use super::{Attempt, Provider, ProviderError, ProviderRequest};
use crate::config::ProviderConfig;

/// The longest tail of the prefix that is matched.
pub const MAX_NEEDLE_CHARS: usize = 160;
/// Shorter matches are too ambiguous to be worth proposing.
const MIN_NEEDLE_CHARS: usize = 3;
/// How much text before and after the cursor is searched.
const WINDOW_BEFORE: usize = 256 << 10;
const WINDOW_AFTER: usize = 64 << 10;
/// The longest continuation proposed.
const MAX_CONTINUATION_CHARS: usize = 240;
/// Occurrences of one needle examined before trying a shorter one.
const MAX_OCCURRENCES: usize = 64;

pub struct LocalEngine {
    config: ProviderConfig,
}

impl LocalEngine {
    pub fn new(config: ProviderConfig) -> Self {
        LocalEngine { config }
    }
}

impl Provider for LocalEngine {
    fn config(&self) -> &ProviderConfig {
        &self.config
    }

    fn complete<'a>(
        &'a self,
        request: &'a ProviderRequest,
        _attempt: &'a Attempt,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        let neighbours = request.neighbours.get();
        let text = suggest(&request.document, request.cursor, &neighbours);
        Box::pin(async move { Ok(text.unwrap_or_default()) })
    }
}

/// The continuation of the line at `cursor`, if an earlier match proposes one.
pub fn suggest(document: &str, cursor: usize, neighbours: &[Arc<str>]) -> Option<String> {
    // Search a window around the cursor, so a huge file costs no more than a large one.
    let cursor = floor_char_boundary(document, cursor.min(document.len()));
    let start = floor_char_boundary(document, cursor.saturating_sub(WINDOW_BEFORE));
    let end = floor_char_boundary(
        document,
        cursor.saturating_add(WINDOW_AFTER).min(document.len()),
    );
    let document = &document[start..end];
    let cursor = cursor - start;
    let before = &document[..cursor];
    let after = &document[cursor..];
    let rest_of_line = &after[..after.find(['\n', '\r']).unwrap_or(after.len())];

    // Byte offsets in `before` where the last 1, 2, … chars start.
    let tail_starts: Vec<usize> = before
        .char_indices()
        .rev()
        .take(MAX_NEEDLE_CHARS)
        .map(|(i, _)| i)
        .collect();
    if tail_starts.len() < MIN_NEEDLE_CHARS {
        return None;
    }
    // Everything before the cursor except its last char: an occurrence found here
    // is not the needle at the cursor itself.
    let earlier = &before[..*tail_starts.first()?];
    let haystacks = Haystacks {
        document,
        earlier,
        cursor,
        neighbours,
    };
    let needle = |chars: usize| &before[tail_starts[chars - 1]..];

    // Binary search for the longest needle that occurs at all.
    let (mut lo, mut hi) = (MIN_NEEDLE_CHARS, tail_starts.len());
    if !haystacks.contains(needle(lo)) {
        return None;
    }
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if haystacks.contains(needle(mid)) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    // From the longest down, the first occurrence with a useful continuation wins.
    for chars in (MIN_NEEDLE_CHARS..=lo).rev().take(24) {
        if let Some(found) = haystacks.continuation(needle(chars), rest_of_line) {
            return Some(found);
        }
    }
    None
}

struct Haystacks<'a> {
    document: &'a str,
    earlier: &'a str,
    cursor: usize,
    neighbours: &'a [Arc<str>],
}

impl Haystacks<'_> {
    fn contains(&self, needle: &str) -> bool {
        let finder = memmem::Finder::new(needle);
        finder.find(self.earlier.as_bytes()).is_some()
            || finder
                .find(&self.document.as_bytes()[self.cursor..])
                .is_some()
            || self
                .neighbours
                .iter()
                .any(|n| finder.find(n.as_bytes()).is_some())
    }

    fn continuation(&self, needle: &str, rest_of_line: &str) -> Option<String> {
        let useful = |text: &str, end: usize, limit: usize| -> Option<String> {
            let continuation = line_from(text, end, limit)?;
            let trimmed = continuation.trim_end();
            if trimmed.trim().is_empty() || rest_of_line.starts_with(trimmed) {
                return None;
            }
            Some(trimmed.to_string())
        };
        // Nearest earlier occurrence first; never read past the cursor.
        let reverse = memmem::FinderRev::new(needle);
        let mut limit = self.earlier.len();
        for _ in 0..MAX_OCCURRENCES {
            let Some(at) = reverse.rfind(&self.earlier.as_bytes()[..limit]) else {
                break;
            };
            if let Some(found) = useful(self.document, at + needle.len(), self.cursor) {
                return Some(found);
            }
            limit = at + needle.len() - 1;
        }
        let forward = memmem::Finder::new(needle);
        let after = &self.document[self.cursor..];
        for at in forward.find_iter(after.as_bytes()).take(MAX_OCCURRENCES) {
            if let Some(found) = useful(after, at + needle.len(), after.len()) {
                return Some(found);
            }
        }
        for neighbour in self.neighbours {
            for at in forward
                .find_iter(neighbour.as_bytes())
                .take(MAX_OCCURRENCES)
            {
                if let Some(found) = useful(neighbour, at + needle.len(), neighbour.len()) {
                    return Some(found);
                }
            }
        }
        None
    }
}

/// The text from `start` to the end of its line (or `limit`), capped in length.
fn line_from(text: &str, start: usize, limit: usize) -> Option<&str> {
    if !text.is_char_boundary(start) || start > limit {
        return None;
    }
    let rest = &text[start..limit];
    let line = &rest[..rest.find(['\n', '\r']).unwrap_or(rest.len())];
    let end = line
        .char_indices()
        .nth(MAX_CONTINUATION_CHARS)
        .map_or(line.len(), |(i, _)| i);
    Some(&line[..end])
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_marker(text: &str) -> Option<String> {
        let cursor = text.find('|').unwrap();
        let document = text.replacen('|', "", 1);
        suggest(&document, cursor, &[])
    }

    #[test]
    fn continues_a_repeated_call_from_earlier_in_the_file() {
        let text = "let total = compute_total(&items, tax_rate);\nprintln!(\"{total}\");\nlet again = compute_to|\n";
        assert_eq!(at_marker(text).as_deref(), Some("tal(&items, tax_rate);"));
    }

    #[test]
    fn prefers_the_longest_and_nearest_match() {
        let text = "self.width = width;\nself.height = height;\nself.he|";
        assert_eq!(at_marker(text).as_deref(), Some("ight = height;"));
    }

    #[test]
    fn proposes_the_next_line_of_a_pattern_after_a_newline() {
        let text = "match x {\n    A => 1,\n    B => 2,\n}\nmatch y {\n    A => 1,\n    |";
        assert_eq!(at_marker(text).as_deref(), Some("B => 2,"));
    }

    #[test]
    fn finds_matches_in_other_open_documents() {
        let other: Arc<str> = Arc::from("use std::collections::HashMap;\n");
        let document = "use std::coll";
        assert_eq!(
            suggest(document, document.len(), &[other]).as_deref(),
            Some("ections::HashMap;")
        );
    }

    #[test]
    fn does_not_repeat_what_already_follows_the_cursor() {
        let text = "foo(bar);\nfoo(|bar);";
        assert_eq!(at_marker(text), None);
    }

    #[test]
    fn nothing_to_match_gives_nothing() {
        assert_eq!(at_marker("xy|"), None);
        assert_eq!(at_marker("unique words only|"), None);
        assert_eq!(suggest("", 0, &[]), None);
    }

    #[test]
    fn cursor_inside_a_multibyte_char_does_not_panic() {
        let text = "日本語 日本語";
        for cursor in 0..=text.len() + 2 {
            let _ = suggest(text, cursor, &[]);
        }
    }
}
