//! The prompt for chat APIs (Anthropic Messages, OpenAI chat, Gemini), which have no
//! fill-in-the-middle endpoint: the code before and after the cursor with a marker,
//! and an instruction to answer with only the missing middle. Models add fences,
//! prose and repeats anyway; `engine::postprocess` removes those.

use super::ProviderRequest;

pub const CURSOR: &str = "<CURSOR>";

pub fn system(request: &ProviderRequest) -> String {
    let scope = if request.single_line {
        "Complete only the rest of the current line."
    } else {
        "Complete the code at the cursor: at most a few lines, ending where the code after the cursor begins."
    };
    format!(
        "You are a code completion engine inside an editor. {scope} Reply with exactly the text to insert at {CURSOR}: no explanation, no markdown code fences, and do not repeat any code that comes before or after {CURSOR}. If nothing fits, reply with nothing."
    )
}

pub fn user(request: &ProviderRequest) -> String {
    let file = request.path.as_deref().unwrap_or("untitled");
    format!(
        "File: {file} (language: {})\n\n{}{CURSOR}{}",
        request.language, request.prefix, request.suffix
    )
}
