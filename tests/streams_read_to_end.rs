//! No stream decoder stops at a chunk's finish reason: only the stream's own end
//! (`[DONE]`, `message_stop`, `"done": true`, or the end of the body) ends an answer.
//! One stream per provider kind puts a finish reason on a chunk before the last text.

use std::path::Path;

use switchboard_ls::providers::anthropic::AnthropicStream;
use switchboard_ls::providers::gemini::GeminiStream;
use switchboard_ls::providers::ollama::OllamaStream;
use switchboard_ls::providers::stream::{
    DoneStream, choice_text, decode_lines, decode_sse, delta_content,
};

#[test]
fn gemini_2024_framing_with_stop_on_every_chunk_yields_the_whole_text() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/wire-samples/gemini/streamGenerateContent.cookbook-2024.sse");
    let text = decode_sse(&std::fs::read(path).unwrap(), GeminiStream::default()).unwrap();
    assert!(text.starts_with("In the quaint, sunlit cottage"), "{text}");
    assert!(text.contains(" companions named Mittens"), "{text}");
    assert!(
        text.ends_with(" other and for adventure stronger than ever."),
        "{text}"
    );
}

#[test]
fn gemini_stream_with_stop_on_each_code_chunk() {
    let chunk = |t: &str| {
        format!(
            "data: {{\"candidates\": [{{\"content\": {{\"parts\": [{{\"text\": \"{t}\"}}],\"role\": \"model\"}},\"finishReason\": \"STOP\",\"index\": 0}}]}}\r\n\r\n"
        )
    };
    let body = [chunk("math.fsum"), chunk("([a * a, "), chunk("b * b])")].concat();
    let text = decode_sse(body.as_bytes(), GeminiStream::default()).unwrap();
    assert_eq!(text, "math.fsum([a * a, b * b])");
}

#[test]
fn openai_chat_stream_reads_past_a_finish_reason_to_done() {
    let body = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"pow(a, 2)\"},\"finish_reason\":null}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" + \"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"pow(b, 2)\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let text = decode_sse(
        body.as_bytes(),
        DoneStream {
            text_of: delta_content,
        },
    )
    .unwrap();
    assert_eq!(text, "pow(a, 2) + pow(b, 2)");
}

#[test]
fn fim_completions_stream_reads_past_a_finish_reason_to_done() {
    // Codestral, openai-fim (vLLM, llama.cpp, DeepSeek): legacy `choices[0].text`.
    let body = concat!(
        "data: {\"choices\":[{\"index\":0,\"text\":\"(a * a)\",\"finish_reason\":\"length\"}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"text\":\" + (b * b)\",\"finish_reason\":\"stop\"}]}\n\n",
        "data: [DONE]\n\n",
    );
    let text = decode_sse(
        body.as_bytes(),
        DoneStream {
            text_of: choice_text,
        },
    )
    .unwrap();
    assert_eq!(text, "(a * a) + (b * b)");
}

#[test]
fn anthropic_stream_reads_past_a_stop_reason_to_message_stop() {
    let body = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"content\":[]}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"math.sqrt\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"(x)\"}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" after the end\"}}\n\n",
    );
    let text = decode_sse(body.as_bytes(), AnthropicStream).unwrap();
    assert_eq!(text, "math.sqrt(x)");
}

#[test]
fn ollama_stream_reads_past_a_done_reason_to_done_true() {
    let body = concat!(
        "{\"model\":\"m\",\"response\":\"a, \",\"done\":false}\n",
        "{\"model\":\"m\",\"response\":\"b\",\"done\":false,\"done_reason\":\"stop\"}\n",
        "{\"model\":\"m\",\"response\":\")\",\"done\":true,\"done_reason\":\"stop\"}\n",
        "{\"model\":\"m\",\"response\":\" after the end\",\"done\":false}\n",
    );
    let text = decode_lines(body.as_bytes(), OllamaStream).unwrap();
    assert_eq!(text, "a, b)");
}
