//! Arbitrary bytes through the SSE parser, the NDJSON splitter and every stream
//! decoder: no panic, and splitting the bytes into chunks changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_ls::providers::anthropic::AnthropicStream;
use switchboard_ls::providers::gemini::GeminiStream;
use switchboard_ls::providers::ollama::OllamaStream;
use switchboard_ls::providers::stream::{
    DoneStream, LineDecoder, SseDecoder, Step, choice_text, decode_lines, decode_sse, delta_content,
};
use switchboard_ls::providers::{LineSplitter, ProviderError, SseParser, StreamedText};

fn take(step: Step, text: &mut StreamedText) -> bool {
    match step {
        Step::Text(piece) => text.push(&piece),
        Step::Last(piece) => {
            text.push(&piece);
            true
        }
        Step::Done => true,
        Step::Skip => false,
    }
}

/// `read_sse` over chunks, without the network.
fn sse_chunked(chunks: &[&[u8]], mut decoder: impl SseDecoder) -> Result<String, ProviderError> {
    let mut parser = SseParser::new();
    let mut text = StreamedText::new(false);
    for chunk in chunks {
        for event in parser.push(chunk) {
            if take(decoder.event(&event)?, &mut text) {
                return Ok(text.into_text());
            }
        }
    }
    if let Some(event) = parser.finish()
        && take(decoder.event(&event)?, &mut text)
    {
        return Ok(text.into_text());
    }
    decoder.eof()?;
    Ok(text.into_text())
}

/// `read_lines` over chunks, without the network.
fn lines_chunked(chunks: &[&[u8]], mut decoder: impl LineDecoder) -> Result<String, ProviderError> {
    let mut splitter = LineSplitter::new();
    let mut text = StreamedText::new(false);
    let mut lines: Vec<String> = chunks.iter().flat_map(|c| splitter.push(c)).collect();
    lines.extend(splitter.finish());
    for line in lines {
        if take(decoder.line(&line)?, &mut text) {
            return Ok(text.into_text());
        }
    }
    decoder.eof()?;
    Ok(text.into_text())
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, the rest is the stream.
    let Some((&size, bytes)) = data.split_first() else {
        return;
    };
    let chunks: Vec<&[u8]> = bytes.chunks(usize::from(size % 16) + 1).collect();
    let fim = || DoneStream {
        text_of: choice_text,
    };
    let chat = || DoneStream {
        text_of: delta_content,
    };
    assert_eq!(sse_chunked(&chunks, fim()), decode_sse(bytes, fim()));
    assert_eq!(sse_chunked(&chunks, chat()), decode_sse(bytes, chat()));
    assert_eq!(
        sse_chunked(&chunks, AnthropicStream),
        decode_sse(bytes, AnthropicStream)
    );
    assert_eq!(
        sse_chunked(&chunks, GeminiStream::default()),
        decode_sse(bytes, GeminiStream::default())
    );
    assert_eq!(
        lines_chunked(&chunks, OllamaStream),
        decode_lines(bytes, OllamaStream)
    );
});
