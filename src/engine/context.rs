//! What a completion is asked about: the prefix and suffix windows around the cursor,
//! cut on character boundaries, and whether only the rest of the line is wanted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::CompletionSettings;
use crate::providers::ProviderRequest;

/// One completion request, in plain terms: the CLI, the LSP server and the benchmark
/// all build one of these.
#[derive(Debug, Clone)]
pub struct CompletionRequest {
    /// The whole document.
    pub text: Arc<str>,
    /// Byte offset of the cursor in `text` (clamped down to a char boundary).
    pub cursor: usize,
    /// The editor's language id (`rust`, `python`), or a guess from the extension.
    pub language: String,
    pub path: Option<PathBuf>,
    /// Other open documents, most recently used first, for the local engine.
    pub neighbours: crate::providers::Neighbours,
}

/// The provider request for `request` under `settings`.
pub fn build(request: &CompletionRequest, settings: &CompletionSettings) -> ProviderRequest {
    let text = &*request.text;
    let mut cursor = request.cursor.min(text.len());
    while !text.is_char_boundary(cursor) {
        cursor -= 1;
    }
    let before = &text[..cursor];
    let after = &text[cursor..];
    let prefix = &before[start_of_last_chars(before, settings.max_prefix_chars)..];
    let suffix = &after[..end_of_first_chars(after, settings.max_suffix_chars)];
    let rest_of_line = &after[..after.find('\n').unwrap_or(after.len())];
    ProviderRequest {
        prefix: prefix.to_string(),
        suffix: suffix.to_string(),
        language: request.language.clone(),
        path: request
            .path
            .as_deref()
            .map(|p| prompt_path(p, settings.workspace_root.as_deref())),
        max_tokens: settings.max_tokens,
        single_line: is_single_line(rest_of_line),
        document: request.text.clone(),
        cursor,
        neighbours: request.neighbours.clone(),
    }
}

/// Whether `byte` starts a UTF-8 character (is not a continuation byte).
fn is_char_start(byte: u8) -> bool {
    (byte as i8) >= -0x40
}

/// Characters in `bytes`: counted in byte-sized sums of up to 255 bytes, which the
/// compiler vectorises 16 bytes at a time (an 8 KB window in well under a microsecond;
/// decoding it char by char took several, and a `usize` count widened every byte).
fn count_chars(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|chunk| {
            let starts = chunk
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(is_char_start(b))));
            usize::from(starts)
        })
        .sum()
}

/// Byte index where the last `n` characters of `text` begin (0 when it has fewer).
fn start_of_last_chars(text: &str, n: usize) -> usize {
    let bytes = text.as_bytes();
    if bytes.len() <= n {
        return 0;
    }
    // The last `n` bytes hold at most `n` characters; walk back for the rest.
    let mut start = bytes.len() - n;
    let mut missing = n - count_chars(&bytes[start..]);
    while missing > 0 && start > 0 {
        start -= 1;
        if is_char_start(bytes[start]) {
            missing -= 1;
        }
    }
    start
}

/// Byte index just past the first `n` characters of `text` (its length when it has
/// fewer).
fn end_of_first_chars(text: &str, n: usize) -> usize {
    let bytes = text.as_bytes();
    if bytes.len() <= n {
        return bytes.len();
    }
    // The first `n` bytes hold at most `n` characters; walk on for the rest.
    let mut seen = count_chars(&bytes[..n]);
    for (at, &byte) in bytes.iter().enumerate().skip(n) {
        if is_char_start(byte) {
            if seen == n {
                return at;
            }
            seen += 1;
        }
    }
    bytes.len()
}

/// How a prompt names the file: relative to the workspace root, or by its name alone
/// outside one — never the absolute path, which carries user names and folder layout.
fn prompt_path(path: &Path, root: Option<&Path>) -> String {
    if let Some(relative) = root.and_then(|root| path.strip_prefix(root).ok())
        && !relative.as_os_str().is_empty()
    {
        return relative.display().to_string();
    }
    path.file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned())
}

/// Mid-line (code after the cursor on this line, other than closing brackets and
/// quotes that an editor auto-inserted) → only the rest of this line is wanted.
fn is_single_line(rest_of_line: &str) -> bool {
    rest_of_line
        .trim()
        .chars()
        .any(|c| !matches!(c, ')' | ']' | '}' | '"' | '\'' | '`' | ';' | ','))
}

/// A language id from a file extension, for the CLI (editors send their own).
pub fn language_for_path(path: &std::path::Path) -> String {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "rs" => "rust",
        "py" | "pyi" => "python",
        "js" | "mjs" | "cjs" => "javascript",
        "jsx" => "javascriptreact",
        "ts" | "mts" | "cts" => "typescript",
        "tsx" => "typescriptreact",
        "go" => "go",
        "c" | "h" => "c",
        "cc" | "cpp" | "cxx" | "hpp" | "hh" => "cpp",
        "java" => "java",
        "kt" | "kts" => "kotlin",
        "rb" => "ruby",
        "lua" => "lua",
        "sh" | "bash" => "shellscript",
        "toml" => "toml",
        "json" => "json",
        "yaml" | "yml" => "yaml",
        "md" => "markdown",
        "" => "plaintext",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_count_characters_not_bytes() {
        // The windows as char iterators define them, on ASCII, 2-, 3- and 4-byte
        // characters, with every cut point and window size around the text's length.
        let texts = [
            "",
            "abc",
            "é",
            "aé€😀b",
            "€€€€",
            "x😀😀y\nzé",
            &"ab€😀é".repeat(9),
        ];
        for text in texts {
            let chars = text.chars().count();
            for n in 0..chars + 3 {
                let start = text
                    .char_indices()
                    .rev()
                    .nth(n.saturating_sub(1))
                    .map_or(0, |(i, _)| i);
                let start = if n == 0 { text.len() } else { start };
                assert_eq!(start_of_last_chars(text, n), start, "{text:?} last {n}");
                let end = text.char_indices().nth(n).map_or(text.len(), |(i, _)| i);
                assert_eq!(end_of_first_chars(text, n), end, "{text:?} first {n}");
            }
        }
    }

    fn request(text: &str, cursor: usize) -> CompletionRequest {
        CompletionRequest {
            text: Arc::from(text),
            cursor,
            language: "rust".into(),
            path: None,
            neighbours: Default::default(),
        }
    }

    #[test]
    fn windows_are_cut_in_chars_not_bytes() {
        let settings = CompletionSettings {
            max_prefix_chars: 3,
            max_suffix_chars: 2,
            ..Default::default()
        };
        let text = "ab日本語|😀xyz".replace('|', "");
        let cursor = "ab日本語".len();
        let built = build(&request(&text, cursor), &settings);
        assert_eq!(built.prefix, "日本語");
        assert_eq!(built.suffix, "😀x");
    }

    #[test]
    fn a_cursor_inside_a_char_rounds_down() {
        let built = build(&request("日本", 1), &CompletionSettings::default());
        assert_eq!(built.prefix, "");
        assert_eq!(built.suffix, "日本");
    }

    #[test]
    fn prompts_name_files_relative_to_the_workspace_or_by_name() {
        let root = Path::new("/home/ada/work/project");
        assert_eq!(
            prompt_path(Path::new("/home/ada/work/project/src/main.rs"), Some(root)),
            "src/main.rs"
        );
        assert_eq!(
            prompt_path(Path::new("/home/ada/notes/todo.py"), Some(root)),
            "todo.py"
        );
        assert_eq!(
            prompt_path(Path::new("/tmp/scratch.ts"), None),
            "scratch.ts"
        );
    }

    #[test]
    fn mid_line_is_single_line_but_closing_brackets_are_not_code() {
        assert!(is_single_line(" + b)"));
        assert!(!is_single_line(")"));
        assert!(!is_single_line("  "));
        assert!(!is_single_line("\"});"));
    }
}
