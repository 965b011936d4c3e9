//! A guard between stdio and the LSP library's codec.
//!
//! tower-lsp-server's framed reader ends the whole stream after one undecodable
//! message, so a single malformed JSON-RPC body from the editor would stop the
//! server. Here every frame is checked first: a body that is not JSON gets a
//! `-32700 Parse error` response, a body that is JSON but not a JSON-RPC message gets
//! `-32600 Invalid request`, an oversized one is skipped with an error, and only
//! well-formed messages reach the library. Responses are written to stdout one whole
//! frame at a time, so injected errors never interleave with the library's output.

use serde_json::{Value, json};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The largest message accepted; bigger ones are read past and answered with an error.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// One frame as read: its body, or why it could not be taken.
enum Frame {
    Body(Vec<u8>),
    /// A header block without a usable `Content-Length`.
    BadHeader,
    TooLarge(usize),
}

/// Reads one `Content-Length` framed message; `None` at end of input.
async fn read_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Frame>> {
    let mut length: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        // A header line longer than this is not a header: cut it off.
        let n = (&mut *reader)
            .take(8192)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(None);
        }
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            if saw_header {
                break;
            }
            continue;
        }
        saw_header = true;
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
        }
    }
    let Some(length) = length else {
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

/// The streams to hand the LSP library, and the task that owns stdout (await it after
/// the server returns so the last responses are flushed).
pub fn guarded_stdio() -> (
    tokio::io::DuplexStream,
    tokio::io::DuplexStream,
    JoinHandle<()>,
) {
    let (library_input, mut feed) = tokio::io::duplex(1 << 20);
    let (library_output, drain) = tokio::io::duplex(1 << 20);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();

    let errors = out_tx.clone();
    tokio::spawn(async move {
        let mut stdin = BufReader::with_capacity(1 << 16, tokio::io::stdin());
        loop {
            let incoming = match read_frame(&mut stdin).await {
                Ok(Some(incoming)) => incoming,
                Ok(None) => break,
                Err(err) => {
                    tracing::error!("reading stdin: {err}");
                    break;
                }
            };
            let body = match incoming {
                Frame::Body(body) => body,
                Frame::BadHeader => {
                    tracing::warn!("skipped a message without Content-Length");
                    let _ = errors.send(error_response(
                        Value::Null,
                        -32700,
                        "Parse error: missing Content-Length header",
                    ));
                    continue;
                }
                Frame::TooLarge(length) => {
                    tracing::warn!("skipped a {length}-byte message (limit {MAX_MESSAGE_BYTES})");
                    let _ = errors.send(error_response(
                        Value::Null,
                        -32600,
                        &format!(
                            "Invalid request: message of {length} bytes is over the {} MiB limit",
                            MAX_MESSAGE_BYTES >> 20
                        ),
                    ));
                    continue;
                }
            };
            match serde_json::from_slice::<Value>(&body) {
                Err(err) => {
                    tracing::warn!("malformed JSON-RPC message: {err}");
                    let _ = errors.send(error_response(
                        Value::Null,
                        -32700,
                        &format!("Parse error: {err}"),
                    ));
                }
                Ok(value) => match check_message(&value) {
                    Err((id, message)) => {
                        tracing::warn!("{message}");
                        let _ = errors.send(error_response(id, -32600, message));
                    }
                    Ok(()) => {
                        // Re-serialised, so what the library reads is exactly what was
                        // checked (no duplicate keys, no number forms it rejects).
                        let checked = serde_json::to_vec(&value).unwrap_or(body);
                        if feed.write_all(&frame(&checked)).await.is_err() {
                            break;
                        }
                    }
                },
            }
        }
        // EOF on stdin: the library sees its input end.
        let _ = feed.shutdown().await;
    });

    tokio::spawn(async move {
        let mut drain = BufReader::with_capacity(1 << 16, drain);
        while let Ok(Some(Frame::Body(body))) = read_frame(&mut drain).await {
            if out_tx.send(frame(&body)).is_err() {
                break;
            }
        }
        // The library is done (after `exit`): an empty frame tells the writer to stop,
        // though the stdin reader may still hold its sender.
        let _ = out_tx.send(Vec::new());
    });

    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(bytes) = out_rx.recv().await {
            if bytes.is_empty() {
                break;
            }
            if write_all_flush(&mut stdout, &bytes).await.is_err() {
                break;
            }
        }
    });
    (library_input, library_output, writer)
}

async fn write_all_flush<W: AsyncWrite + Unpin>(out: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes).await?;
    out.flush().await
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
