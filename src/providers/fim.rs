//! Raw fill-in-the-middle prompts for servers that reject `suffix` (vLLM, llama.cpp):
//! the model family's FIM tokens around the prefix and suffix, and those tokens as
//! stop sequences so the model cannot run past the middle.

use crate::config::FimTemplate;

/// The raw prompt and the stop sequences for `template`.
pub fn fim_prompt(
    template: FimTemplate,
    prefix: &str,
    suffix: &str,
) -> (String, Vec<&'static str>) {
    match template {
        FimTemplate::Qwen => (
            format!("<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"),
            vec![
                "<|endoftext|>",
                "<|fim_prefix|>",
                "<|fim_suffix|>",
                "<|fim_middle|>",
                "<|file_sep|>",
                "<|im_end|>",
            ],
        ),
        FimTemplate::StarCoder => (
            format!("<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>"),
            vec![
                "<|endoftext|>",
                "<fim_prefix>",
                "<fim_suffix>",
                "<fim_middle>",
                "<file_sep>",
            ],
        ),
        FimTemplate::CodeLlama => (
            format!("<PRE> {prefix} <SUF>{suffix} <MID>"),
            vec!["<EOT>", "<PRE>", "<SUF>", "<MID>"],
        ),
        FimTemplate::DeepSeek => (
            format!("<｜fim▁begin｜>{prefix}<｜fim▁hole｜>{suffix}<｜fim▁end｜>"),
            vec![
                "<｜fim▁begin｜>",
                "<｜fim▁hole｜>",
                "<｜fim▁end｜>",
                "<｜end▁of▁sentence｜>",
                "<|EOT|>",
            ],
        ),
        FimTemplate::Codestral => (
            format!("[SUFFIX]{suffix}[PREFIX]{prefix}"),
            vec!["[PREFIX]", "[SUFFIX]", "[MIDDLE]", "</s>"],
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_template_puts_the_cursor_between_its_tokens() {
        let (qwen, stops) = fim_prompt(FimTemplate::Qwen, "a(", ")");
        assert_eq!(qwen, "<|fim_prefix|>a(<|fim_suffix|>)<|fim_middle|>");
        assert!(stops.contains(&"<|fim_prefix|>"));
        let (codestral, _) = fim_prompt(FimTemplate::Codestral, "a(", ")");
        assert_eq!(codestral, "[SUFFIX])[PREFIX]a(");
        let (llama, _) = fim_prompt(FimTemplate::CodeLlama, "a(", ")");
        assert_eq!(llama, "<PRE> a( <SUF>) <MID>");
    }
}
