//! An incremental Server-Sent Events parser, and an NDJSON line splitter.
//!
//! Fed raw chunks as they arrive; yields complete events. Lines end in `\n`, `\r\n`
//! or `\r` (a `\r` at the end of one chunk and a `\n` at the start of the next are
//! one line ending); comment lines (`: keep-alive`) and unknown fields are ignored,
//! except `error:`, a non-standard field older llama.cpp servers send, which is kept
//! as an event named `error`.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field; `None` for the default `message` type.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    after_cr: bool,
    event: Option<String>,
    data: Option<String>,
}

impl SseParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in chunk {
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' => self.end_line(&mut events),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut events);
                }
                _ => self.line.push(byte),
            }
        }
        events
    }

    /// The stream ended: the last event, if it was not followed by a blank line.
    /// (The SSE spec drops it; real servers and SDK fixtures end without one, and a
    /// cut-off event fails to parse as JSON downstream, so nothing is lost by taking it.)
    pub fn finish(&mut self) -> Option<SseEvent> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut events);
        }
        self.end_line(&mut events);
        events.pop()
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                events.push(SseEvent {
                    event: self.event.take(),
                    data,
                });
            } else {
                self.event = None;
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let line = String::from_utf8_lossy(&line);
        let (field, value) = match line.find(':') {
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (&line[..], ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "error" => {
                self.event = Some("error".to_string());
                self.data = Some(value.to_string());
            }
            _ => {}
        }
    }
}

/// Splits a byte stream into lines for NDJSON (Ollama).
#[derive(Debug, Default)]
pub struct LineSplitter {
    buf: Vec<u8>,
}

impl LineSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &byte in chunk {
            if byte == b'\n' {
                let line = std::mem::take(&mut self.buf);
                let text = String::from_utf8_lossy(&line).trim().to_string();
                if !text.is_empty() {
                    lines.push(text);
                }
            } else {
                self.buf.push(byte);
            }
        }
        lines
    }

    /// The last line, when the stream did not end with a newline.
    pub fn finish(&mut self) -> Option<String> {
        let line = std::mem::take(&mut self.buf);
        let text = String::from_utf8_lossy(&line).trim().to_string();
        (!text.is_empty()).then_some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        chunks.iter().flat_map(|c| parser.push(c)).collect()
    }

    #[test]
    fn events_split_on_any_line_ending_even_across_chunks() {
        let events = all(&[
            b"event: a\r",
            b"\ndata: 1\r\n\r",
            b"\ndata: 2\n\ndata: 3\r\r",
        ]);
        let data: Vec<_> = events.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["1", "2", "3"]);
        assert_eq!(events[0].event.as_deref(), Some("a"));
        assert_eq!(events[1].event, None);
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored_and_data_lines_join() {
        let events = all(&[b": keep-alive\n\nid: 4\ndata: x\ndata: y\nobfuscation: z\n\n"]);
        assert_eq!(
            events,
            [SseEvent {
                event: None,
                data: "x\ny".into()
            }]
        );
    }

    #[test]
    fn the_last_event_without_a_blank_line_is_taken_at_the_end() {
        let mut parser = SseParser::new();
        assert!(parser.push(b"data: 1\n\ndata: 2").len() == 1);
        assert_eq!(parser.finish().unwrap().data, "2");
        assert_eq!(parser.finish(), None);
    }

    #[test]
    fn a_non_standard_error_field_is_kept() {
        let events = all(&[b"error: {\"code\":500}\n\n"]);
        assert_eq!(events[0].event.as_deref(), Some("error"));
    }

    #[test]
    fn ndjson_lines_split_and_the_tail_is_returned() {
        let mut splitter = LineSplitter::new();
        assert_eq!(splitter.push(b"{\"a\":1}\n{\"b\""), ["{\"a\":1}"]);
        assert_eq!(splitter.push(b":2}"), Vec::<String>::new());
        assert_eq!(splitter.finish().as_deref(), Some("{\"b\":2}"));
    }
}
