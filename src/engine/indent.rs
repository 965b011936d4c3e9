//! Fitting a multi-line answer to the document: its lines indented relative to the
//! cursor's line, with the document's own tabs or spaces.

/// How the document indents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndentStyle {
    Tabs,
    Spaces(usize),
}

impl IndentStyle {
    /// Read from the cursor's line, else the indented lines around it.
    pub fn of(line_before: &str, prefix: &str, suffix: &str) -> IndentStyle {
        let cursor_indent = leading_ws(line_before);
        if cursor_indent.contains('\t') {
            return IndentStyle::Tabs;
        }
        let lines = || prefix.lines().rev().chain(suffix.lines());
        let mut widths = Vec::new();
        for line in lines().take(400) {
            let ws = leading_ws(line);
            if ws.is_empty() || line.trim().is_empty() {
                continue;
            }
            if ws.starts_with('\t') {
                if cursor_indent.is_empty() {
                    return IndentStyle::Tabs;
                }
                continue;
            }
            widths.push(ws.len());
        }
        let unit = widths.iter().copied().filter(|w| *w > 0).min().unwrap_or(4);
        IndentStyle::Spaces(if unit == 0 || unit > 8 { 4 } else { unit })
    }
}

pub fn leading_ws(line: &str) -> &str {
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// The indentation step an answer uses for spaces (smallest non-zero indent of its
/// lines after the first), 4 when it has none.
fn answer_space_unit(lines: &[&str]) -> usize {
    lines
        .iter()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| leading_ws(l))
        .filter(|ws| !ws.contains('\t'))
        .map(str::len)
        .filter(|w| *w > 0)
        .min()
        .unwrap_or(4)
}

/// Rewrites the lines after the first in `style`: tabs ↔ spaces, levels kept.
pub fn convert(text: &str, style: IndentStyle) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() < 2 {
        return text.to_string();
    }
    let unit = answer_space_unit(&lines);
    let mut out = String::with_capacity(text.len());
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            let ws = leading_ws(line);
            let rest = &line[ws.len()..];
            match style {
                IndentStyle::Tabs if !ws.is_empty() && !ws.contains('\t') => {
                    out.push_str(&"\t".repeat(ws.len() / unit));
                    out.push_str(&" ".repeat(ws.len() % unit));
                }
                IndentStyle::Spaces(width) if ws.contains('\t') => {
                    for c in ws.chars() {
                        match c {
                            '\t' => out.push_str(&" ".repeat(width)),
                            other => out.push(other),
                        }
                    }
                }
                _ => out.push_str(ws),
            }
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Whether a chat model wrote the lines after the first relative to column 0 rather
/// than to the document: read as they are, they would sit left of the cursor's line,
/// or fail to indent the block the answer (or the line before it) opens.
pub fn is_relative(first_line: &str, line_before: &str, rest: &[&str]) -> bool {
    let base = leading_ws(line_before).len();
    if base == 0 {
        return false;
    }
    let mut opener = format!("{line_before}{first_line}");
    for line in rest {
        if line.trim().is_empty() {
            continue;
        }
        let width = leading_ws(line).len();
        let opens_block = opener.trim_end().ends_with([':', '{', '(', '[']);
        if width < base || (opens_block && width <= base) {
            return true;
        }
        opener = line.to_string();
    }
    false
}

/// Prefixes `indent` to every non-blank line after the first.
pub fn shift(text: &str, indent: &str) -> String {
    let mut out = String::with_capacity(text.len() + indent.len() * 4);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            if !line.trim().is_empty() {
                out.push_str(indent);
            }
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_comes_from_the_cursor_line_or_its_neighbours() {
        assert_eq!(IndentStyle::of("\tx", "", ""), IndentStyle::Tabs);
        assert_eq!(
            IndentStyle::of("", "func f() {\n\treturn\n", ""),
            IndentStyle::Tabs
        );
        assert_eq!(
            IndentStyle::of("  ", "a:\n  b: 1\n", ""),
            IndentStyle::Spaces(2)
        );
        assert_eq!(IndentStyle::of("", "", ""), IndentStyle::Spaces(4));
    }

    #[test]
    fn spaces_become_tabs_and_back() {
        assert_eq!(
            convert("if x {\n    y()\n        z()\n}", IndentStyle::Tabs),
            "if x {\n\ty()\n\t\tz()\n}"
        );
        assert_eq!(
            convert("if x:\n\ty\n\t\tz", IndentStyle::Spaces(4)),
            "if x:\n    y\n        z"
        );
    }

    #[test]
    fn relative_blocks_are_recognised() {
        assert!(is_relative("for i in x:", "    ", &["    print(i)"]));
        assert!(is_relative("x = 1", "    ", &["y = 2"]));
        assert!(!is_relative("for i in x:", "    ", &["        print(i)"]));
        assert!(!is_relative("x = 1", "", &["y = 2"]));
    }
}
