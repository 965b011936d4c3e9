//! Which closing brackets and quotes of an answer close something the answer did not
//! open. The answer is read after the current line before the cursor, with strings and
//! comments of the language skipped, so `print("(")` or `// )` never count.

/// How a language writes comments and strings, as far as bracket counting cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Syntax {
    /// `#` line comments (Python, YAML, shell, TOML).
    hash_comments: bool,
    /// `//` line comments and `/* */` block comments (C family, Rust, Go, TS).
    slash_comments: bool,
    /// Backtick strings (JS/TS template literals, Go raw strings, Markdown code).
    backtick_strings: bool,
    /// `'` starts a string only when it looks like a char literal (Rust lifetimes).
    quote_is_char_literal: bool,
}

impl Syntax {
    pub fn for_language(language: &str) -> Syntax {
        let c_like = Syntax {
            hash_comments: false,
            slash_comments: true,
            backtick_strings: false,
            quote_is_char_literal: false,
        };
        match language {
            "python" | "yaml" | "toml" | "shellscript" | "ruby" | "perl" | "r" | "makefile"
            | "dockerfile" | "elixir" => Syntax {
                hash_comments: true,
                slash_comments: false,
                backtick_strings: language == "shellscript",
                quote_is_char_literal: false,
            },
            "rust" => Syntax {
                quote_is_char_literal: true,
                ..c_like
            },
            "javascript" | "javascriptreact" | "typescript" | "typescriptreact" | "go"
            | "markdown" => Syntax {
                backtick_strings: true,
                ..c_like
            },
            "json" | "jsonc" => c_like,
            _ => c_like,
        }
    }
}

/// Where an opener was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Before,
    Answer,
}

/// For each char of `answer`, whether it is a closing bracket or quote that closes
/// something opened before the answer (in `line_before`, or earlier lines: a closer
/// with nothing open counts too).
pub fn closes_outside(line_before: &str, answer: &str, syntax: Syntax) -> Vec<bool> {
    let chars: Vec<char> = line_before.chars().chain(answer.chars()).collect();
    let answer_start = line_before.chars().count();
    let mut marks = vec![false; chars.len() - answer_start];
    let mut stack: Vec<(char, Origin)> = Vec::new();
    let mut string: Option<(char, Origin)> = None;
    let mut block_comment = false;
    let mut line_comment = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let origin = if i < answer_start {
            Origin::Before
        } else {
            Origin::Answer
        };
        let next = chars.get(i + 1).copied();
        if line_comment {
            if c == '\n' {
                line_comment = false;
            }
        } else if block_comment {
            if c == '*' && next == Some('/') {
                block_comment = false;
                i += 1;
            }
        } else if let Some((quote, opened)) = string {
            if c == '\\' {
                i += 1;
            } else if c == quote {
                string = None;
                if origin == Origin::Answer && opened == Origin::Before {
                    marks[i - answer_start] = true;
                }
            } else if c == '\n' && quote != '`' {
                // An unterminated string ends with its line.
                string = None;
            }
        } else {
            match c {
                '#' if syntax.hash_comments => line_comment = true,
                '/' if syntax.slash_comments && next == Some('/') => line_comment = true,
                '/' if syntax.slash_comments && next == Some('*') => {
                    block_comment = true;
                    i += 1;
                }
                '"' => string = Some((c, origin)),
                '`' if syntax.backtick_strings => string = Some((c, origin)),
                '\'' if !syntax.quote_is_char_literal || is_char_literal(&chars[i..]) => {
                    string = Some((c, origin));
                }
                '(' | '[' | '{' => stack.push((c, origin)),
                ')' | ']' | '}' => {
                    let opener = match c {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    };
                    let closed = match stack.iter().rposition(|(o, _)| *o == opener) {
                        Some(at) => {
                            let origin = stack[at].1;
                            stack.truncate(at);
                            origin
                        }
                        None => Origin::Before,
                    };
                    if origin == Origin::Answer && closed == Origin::Before {
                        marks[i - answer_start] = true;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    marks
}

/// `'a'`, `'\n'`, `'\u{1F600}'` — not a lifetime `'a`.
fn is_char_literal(from_quote: &[char]) -> bool {
    match from_quote.get(1) {
        Some('\\') => true,
        Some(_) => from_quote.get(2) == Some(&'\''),
        None => false,
    }
}

pub fn is_closer(c: char) -> bool {
    matches!(c, ')' | ']' | '}' | '"' | '\'' | '`')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outside(line: &str, answer: &str, language: &str) -> String {
        let marks = closes_outside(line, answer, Syntax::for_language(language));
        answer
            .chars()
            .zip(marks)
            .map(|(c, m)| if m { c } else { '.' })
            .collect()
    }

    #[test]
    fn an_answer_closing_its_own_brackets_closes_nothing_outside() {
        assert_eq!(
            outside("return math.sqrt(", "(a * a) + (b * b)", "python"),
            "................."
        );
    }

    #[test]
    fn a_closer_of_the_line_before_is_marked() {
        assert_eq!(outside("x = add(", "a, b)", "python"), "....)");
        assert_eq!(outside("print(\"", "hi\")", "python"), "..\")");
    }

    #[test]
    fn strings_and_comments_do_not_count() {
        assert_eq!(outside("f(", "\")\")", "python"), "...)");
        assert_eq!(outside("f(", "x  # )", "python"), "......");
        assert_eq!(outside("f(", "x /* ) */)", "rust"), ".........)");
        assert_eq!(outside("f(", "x // )", "rust"), "......");
    }

    #[test]
    fn rust_lifetimes_are_not_quotes() {
        assert_eq!(
            outside("fn f<", "'a>(x: &'a str)", "rust"),
            "..............."
        );
        assert_eq!(outside("g(", "')')", "rust"), "...)");
    }
}
