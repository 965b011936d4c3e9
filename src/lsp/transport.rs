//! A guard between stdio and the LSP library's codec.
//!
//! tower-lsp-server's framed reader ends the whole stream after one undecodable
//! message, so a single malformed JSON-RPC body from the editor would stop the
//! server. Here every frame is checked first: a body that is not JSON gets a
//! `-32700 Parse error` response, a body that is JSON but not a JSON-RPC message gets
//! `-32600 Invalid request`, an oversized one is skipped with an error, and only
//! well-formed messages reach the library. Responses are written to stdout one whole
//! frame at a time, so injected errors never interleave with the library's output.
//!
//! stdin and stdout each have a thread of their own, blocking on the file descriptor:
//! tokio's `stdin`/`stdout` hand every read and write to the blocking pool, two extra
//! thread hand-offs per message each way. The output queue is bounded: an editor that
//! stops reading stalls the server's output (and, through the library, its handlers)
//! instead of growing its memory without end.

use std::io::{BufRead, Read, Write};

use serde_json::{Value, json};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The largest message accepted; bigger ones are read past and answered with an error.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Whole frames waiting for stdout, at most.
const OUTPUT_QUEUE: usize = 256;
/// Checked frames waiting for the library, at most.
const INPUT_QUEUE: usize = 64;

/// One frame as read: its body, or why it could not be taken.
enum Frame {
    Body(Vec<u8>),
    /// A header block without a usable `Content-Length`.
    BadHeader,
    TooLarge(usize),
}

/// A header line longer than this is not a header: it is cut off there.
const MAX_HEADER_LINE: u64 = 8192;

/// The header block being read, one line at a time.
#[derive(Default)]
struct Headers {
    length: Option<usize>,
    saw_header: bool,
}

impl Headers {
    /// Takes one raw header line; `true` when the block has ended.
    fn line(&mut self, raw: &[u8]) -> bool {
        let line = String::from_utf8_lossy(raw);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            return self.saw_header;
        }
        self.saw_header = true;
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            self.length = value.trim().parse().ok();
        }
        false
    }
}

/// [`read_frame`] on a blocking reader (stdin's own thread).
fn read_frame_blocking<R: BufRead>(reader: &mut R) -> std::io::Result<Option<Frame>> {
    let mut headers = Headers::default();
    loop {
        let mut line = Vec::new();
        if (&mut *reader)
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)?
            == 0
        {
            return Ok(None);
        }
        if headers.line(&line) {
            break;
        }
    }
    let Some(length) = headers.length else {
        return Ok(Some(Frame::BadHeader));
    };
    if length > MAX_MESSAGE_BYTES {
        let skipped = std::io::copy(&mut reader.take(length as u64), &mut std::io::sink())?;
        if (skipped as usize) < length {
            return Ok(None);
        }
        return Ok(Some(Frame::TooLarge(length)));
    }
    let mut body = vec![0; length];
    match reader.read_exact(&mut body) {
        Ok(()) => Ok(Some(Frame::Body(body))),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(err) => Err(err),
    }
}

/// Reads one `Content-Length` framed message; `None` at end of input.
async fn read_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Frame>> {
    let mut headers = Headers::default();
    loop {
        let mut line = Vec::new();
        let n = (&mut *reader)
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        if headers.line(&line) {
            break;
        }
    }
    let Some(length) = headers.length else {
        return Ok(Some(Frame::BadHeader));
    };
    if length > MAX_MESSAGE_BYTES {
        let skipped =
            tokio::io::copy(&mut reader.take(length as u64), &mut tokio::io::sink()).await?;
        if (skipped as usize) < length {
            return Ok(None);
        }
        return Ok(Some(Frame::TooLarge(length)));
    }
    let mut body = vec![0; length];
    match reader.read_exact(&mut body).await {
        Ok(_) => Ok(Some(Frame::Body(body))),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(err) => Err(err),
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn error_response(id: Value, code: i64, message: &str) -> Vec<u8> {
    frame(
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
            .to_string()
            .as_bytes(),
    )
}

/// Whether `value` is a JSON-RPC request, notification or response the library can
/// decode; otherwise the error to answer with.
fn check_message(value: &Value) -> Result<(), (Value, &'static str)> {
    let Some(object) = value.as_object() else {
        return Err((Value::Null, "Invalid request: expected a JSON-RPC object"));
    };
    let id = object.get("id").cloned().unwrap_or(Value::Null);
    // The library's ids are i64, string or null; anything else would end its input.
    let id_ok = match object.get("id") {
        None | Some(Value::Null | Value::String(_)) => true,
        Some(Value::Number(n)) => n.as_i64().is_some(),
        _ => false,
    };
    if !id_ok {
        return Err((
            Value::Null,
            "Invalid request: id must be a number or a string",
        ));
    }
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err((id, "Invalid request: jsonrpc must be \"2.0\""));
    }
    match object.get("method") {
        Some(Value::String(_)) => {
            if matches!(
                object.get("params"),
                None | Some(Value::Object(_) | Value::Array(_) | Value::Null)
            ) {
                Ok(())
            } else {
                Err((id, "Invalid request: params must be an object or an array"))
            }
        }
        Some(_) => Err((id, "Invalid request: method must be a string")),
        None if object.contains_key("result") || object.contains_key("error") => Ok(()),
        None => Err((id, "Invalid request: no method")),
    }
}

/// What the stdin thread makes of one frame: a checked message for the library, or an
/// error response for the editor.
fn check_frame(incoming: Frame) -> Result<Vec<u8>, Vec<u8>> {
    let body = match incoming {
        Frame::Body(body) => body,
        Frame::BadHeader => {
            tracing::warn!("skipped a message without Content-Length");
            return Err(error_response(
                Value::Null,
                -32700,
                "Parse error: missing Content-Length header",
            ));
        }
        Frame::TooLarge(length) => {
            tracing::warn!("skipped a {length}-byte message (limit {MAX_MESSAGE_BYTES})");
            return Err(error_response(
                Value::Null,
                -32600,
                &format!(
                    "Invalid request: message of {length} bytes is over the {} MiB limit",
                    MAX_MESSAGE_BYTES >> 20
                ),
            ));
        }
    };
    let value = match serde_json::from_slice::<Value>(&body) {
        Ok(value) => value,
        Err(err) => {
            tracing::warn!("malformed JSON-RPC message: {err}");
            return Err(error_response(
                Value::Null,
                -32700,
                &format!("Parse error: {err}"),
            ));
        }
    };
    if let Err((id, message)) = check_message(&value) {
        tracing::warn!("{message}");
        return Err(error_response(id, -32600, message));
    }
    // Re-serialised, so what the library reads is exactly what was checked (no
    // duplicate keys, no number forms it rejects).
    Ok(frame(&serde_json::to_vec(&value).unwrap_or(body)))
}

/// The streams to hand the LSP library, and the task that owns stdout (await it after
/// the server returns so the last responses are flushed).
pub fn guarded_stdio() -> (
    tokio::io::DuplexStream,
    tokio::io::DuplexStream,
    JoinHandle<()>,
) {
    let (library_input, mut feed) = tokio::io::duplex(1 << 20);
    let (library_output, drain) = tokio::io::duplex(1 << 20);
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(OUTPUT_QUEUE);
    let (in_tx, mut in_rx) = mpsc::channel::<Vec<u8>>(INPUT_QUEUE);

    // stdin: read, framed and checked on a thread of its own. A plain thread, not the
    // blocking pool: it may block on a read for as long as the process lives, and the
    // runtime must not wait for it on the way out.
    let errors = out_tx.clone();
    let reader = std::thread::Builder::new()
        .name("lsp-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::BufReader::with_capacity(1 << 16, std::io::stdin().lock());
            loop {
                let incoming = match read_frame_blocking(&mut stdin) {
                    Ok(Some(incoming)) => incoming,
                    Ok(None) => break,
                    Err(err) => {
                        tracing::error!("reading stdin: {err}");
                        break;
                    }
                };
                let sent = match check_frame(incoming) {
                    Ok(message) => in_tx.blocking_send(message).is_ok(),
                    Err(response) => errors.blocking_send(response).is_ok(),
                };
                if !sent {
                    break;
                }
            }
            // Dropping `in_tx` ends the library's input.
        });
    if let Err(err) = reader {
        tracing::error!("could not start the stdin thread: {err}");
    }
    tokio::spawn(async move {
        while let Some(message) = in_rx.recv().await {
            if feed.write_all(&message).await.is_err() {
                break;
            }
        }
        // EOF on stdin: the library sees its input end.
        let _ = feed.shutdown().await;
    });

    tokio::spawn(async move {
        let mut drain = BufReader::with_capacity(1 << 16, drain);
        while let Ok(Some(Frame::Body(body))) = read_frame(&mut drain).await {
            if out_tx.send(frame(&body)).await.is_err() {
                break;
            }
        }
        // The library is done (after `exit`): an empty frame tells the writer to stop,
        // though the stdin thread may still hold its sender.
        let _ = out_tx.send(Vec::new()).await;
    });

    // stdout: written on a blocking thread that ends with the output, flushed whenever
    // the queue runs empty (a burst of frames goes out in as few writes as it can).
    let writer = tokio::task::spawn_blocking(move || {
        let mut stdout = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        while let Some(bytes) = out_rx.blocking_recv() {
            if bytes.is_empty() || stdout.write_all(&bytes).is_err() {
                break;
            }
            if out_rx.is_empty() && stdout.flush().is_err() {
                break;
            }
        }
        let _ = stdout.flush();
    });
    (library_input, library_output, writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_read_and_bad_headers_reported() {
        let input =
            b"Content-Length: 2\r\n\r\n{}X-Other: 1\r\n\r\ncontent-length: 4\r\n\r\nnull".to_vec();
        let mut reader = BufReader::new(&input[..]);
        assert!(
            matches!(read_frame(&mut reader).await.unwrap(), Some(Frame::Body(b)) if b == b"{}")
        );
        assert!(matches!(
            read_frame(&mut reader).await.unwrap(),
            Some(Frame::BadHeader)
        ));
        assert!(
            matches!(read_frame(&mut reader).await.unwrap(), Some(Frame::Body(b)) if b == b"null")
        );
        assert!(read_frame(&mut reader).await.unwrap().is_none());
    }

    #[test]
    fn only_json_rpc_shapes_pass() {
        assert!(
            check_message(&json!({"jsonrpc": "2.0", "id": 1, "method": "x", "params": {}})).is_ok()
        );
        assert!(check_message(&json!({"jsonrpc": "2.0", "method": "x"})).is_ok());
        assert!(check_message(&json!({"jsonrpc": "2.0", "id": 1, "result": null})).is_ok());
        assert!(check_message(&json!([1, 2])).is_err());
        assert!(check_message(&json!({"jsonrpc": "2.0", "id": {}, "method": "x"})).is_err());
        assert_eq!(
            check_message(&json!({"jsonrpc": "2.0", "id": 7, "method": 5}))
                .unwrap_err()
                .0,
            json!(7)
        );
        assert!(
            check_message(&json!({"jsonrpc": "2.0", "id": 7, "method": "x", "params": 3})).is_err()
        );
        assert!(check_message(&json!({"id": 7, "method": "x"})).is_err());
        assert!(check_message(&json!({"jsonrpc": "2.0", "id": 1.5, "method": "x"})).is_err());
        assert!(
            check_message(&json!({"jsonrpc": "2.0", "id": 9223372036854775808u64, "method": "x"}))
                .is_err()
        );
    }
}
