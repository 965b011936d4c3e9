//! Is an HTTP 200 answer worth showing? (DESIGN.md §4 "Silent degradation".) An
//! answer is low quality when it is empty where the context clearly wants code, sends
//! the prompt back, loops on one line or token, or talks instead of coding. The board
//! counts them in a row; the router does not show one when another provider can answer.

use crate::health::LowQuality;
use crate::providers::ProviderRequest;

/// Repeats of one line or token that make a loop.
const LOOP: usize = 8;

/// `None` for an answer worth showing.
pub fn judge(answer: &str, request: &ProviderRequest) -> Option<LowQuality> {
    let text = answer.trim();
    if text.is_empty() {
        return wants_code(request).then_some(LowQuality::Empty);
    }
    if is_loop(text) {
        return Some(LowQuality::Repetition);
    }
    if is_chat_talk(text) {
        return Some(LowQuality::ChatTalk);
    }
    if is_echo(text, request) {
        return Some(LowQuality::Echo);
    }
    None
}

/// The cursor ends a line that cannot stay as it is (`x = `, `foo(`, `if x:`, `return`),
/// or sits inside brackets the editor closed.
fn wants_code(request: &ProviderRequest) -> bool {
    let line = request.prefix.rsplit('\n').next().unwrap_or("").trim_end();
    let rest = request.suffix.split('\n').next().unwrap_or("").trim();
    if line.trim().is_empty() {
        return false;
    }
    let open_end = line.ends_with([
        '=', '(', '[', '{', ',', ':', '+', '-', '*', '/', '.', '&', '|', '<',
    ]) || line.ends_with(" return")
        || line.trim() == "return";
    let inside =
        line.ends_with(['(', '[', '{', '"', '\'']) && rest.starts_with([')', ']', '}', '"', '\'']);
    open_end || inside
}

/// One line, or one token, repeated [`LOOP`] times or more in a row.
fn is_loop(text: &str) -> bool {
    let repeated = |items: &mut dyn Iterator<Item = &str>| {
        let mut run = 0;
        let mut last: Option<&str> = None;
        for item in items {
            if Some(item) == last {
                run += 1;
                if run >= LOOP {
                    return true;
                }
            } else {
                last = Some(item);
                run = 1;
            }
        }
        false
    };
    repeated(&mut text.lines().map(str::trim).filter(|l| !l.is_empty()))
        || repeated(&mut text.split_whitespace())
}

/// An apology, a refusal, a question back, or prose announcing code that never comes.
fn is_chat_talk(text: &str) -> bool {
    if text.contains("```") {
        // Code in a fence: the engine takes it out of the prose.
        return false;
    }
    let first = text.lines().next().unwrap_or("").trim().to_lowercase();
    const OPENERS: &[&str] = &[
        "i'm sorry",
        "i am sorry",
        "sorry,",
        "i apologize",
        "i apologise",
        "my apologies",
        "i cannot",
        "i can't",
        "i can’t",
        "i'm unable",
        "as an ai",
        "here is the code",
        "here's the code",
        "here is the completion",
        "here's the completion",
        "could you",
        "can you clarify",
        "please provide",
    ];
    if OPENERS.iter().any(|o| first.starts_with(o)) {
        return true;
    }
    // A question back: prose (several words, a capital first) ending in "?".
    let words = text.split_whitespace().count();
    text.ends_with('?')
        && words >= 4
        && text.chars().next().is_some_and(char::is_uppercase)
        && !text.contains(['(', '{', ';', '='])
}

/// The answer is the code before the cursor sent back (a long stretch of it, verbatim).
fn is_echo(text: &str, request: &ProviderRequest) -> bool {
    if text.contains("<CURSOR>") {
        return true;
    }
    text.len() >= 40 && text.contains('\n') && request.prefix.contains(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(prefix: &str, suffix: &str) -> ProviderRequest {
        ProviderRequest::around(prefix, suffix, "python")
    }

    #[test]
    fn empty_is_low_quality_only_where_code_is_wanted() {
        assert_eq!(
            judge("  \n", &request("def f(a):\n    return ", "\n")),
            Some(LowQuality::Empty)
        );
        assert_eq!(
            judge("", &request("x = math.sqrt(", ")\n")),
            Some(LowQuality::Empty)
        );
        // After a finished line, nothing to suggest is a fine answer.
        assert_eq!(judge("", &request("x = 1\n", "")), None);
        assert_eq!(judge("", &request("    print(x)", "\n")), None);
    }

    #[test]
    fn loops_chat_talk_and_echoes_are_recognised() {
        let r = request("def f(a):\n    ", "\n");
        assert_eq!(
            judge(&"x = 1\n".repeat(9), &r),
            Some(LowQuality::Repetition)
        );
        assert_eq!(judge(&"foo ".repeat(8), &r), Some(LowQuality::Repetition));
        assert_eq!(
            judge("I'm sorry, but I can't help with that.", &r),
            Some(LowQuality::ChatTalk)
        );
        assert_eq!(
            judge("Could you share more of the file?", &r),
            Some(LowQuality::ChatTalk)
        );
        let prefix =
            "import math\n\ndef hypotenuse(a, b):\n    return math.sqrt(a * a + b * b)\n\n";
        assert_eq!(
            judge(
                "def hypotenuse(a, b):\n    return math.sqrt(a * a + b * b)",
                &request(prefix, "")
            ),
            Some(LowQuality::Echo)
        );
    }

    #[test]
    fn ordinary_code_and_fenced_code_after_prose_are_fine() {
        let r = request("def f(a):\n    ", "\n");
        assert_eq!(judge("return a + 1", &r), None);
        assert_eq!(
            judge("Here is the code:\n```python\nreturn a + 1\n```", &r),
            None
        );
        assert_eq!(judge("}\n}\n}\n", &r), None);
        assert_eq!(judge("matrix = [[0] * 8 for _ in range(8)]", &r), None);
    }
}
