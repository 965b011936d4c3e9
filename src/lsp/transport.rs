//! A guard between stdio and the LSP library's codec.
//!
//! Every frame from the editor is checked before the library sees it: a body that is
//! not JSON gets a `-32700 Parse error` response, a body that is JSON but not a
//! JSON-RPC message the library can decode gets `-32600 Invalid request` (with the
//! request's id when it has one), an oversized one is skipped with an error, and only
//! well-formed messages reach the library. Responses are written to stdout one whole
//! frame at a time, so injected errors never interleave with the library's output.
//!
//! The path is as short as it can be (issue 14):
//! - When stdin and stdout are pipes or sockets (as every editor starts a server),
//!   they are switched to non-blocking and polled by the runtime itself: a message
//!   costs no thread hand-off at all. Blocking reads and writes on threads of their own
//!   cost two wake-ups of a sleeping thread per round trip, which on these machines was
//!   most of an empty request's time. A terminal or a file falls back to tokio's
//!   `stdin`/`stdout` (its blocking pool), where speed does not matter.
//! - Each frame is read straight into the buffer the library will read (its header
//!   included), checked with a borrowed parse (no `Value` is built, nothing is
//!   re-serialised), and that buffer is what the library reads ([`LibraryInput`]).
//! - The library's writes are collected until it flushes, which it does after whole
//!   frames; those bytes go to the output queue as they are ([`LibraryOutput`]), not
//!   parsed and re-framed, and one task writes the queue out, flushing when it runs
//!   empty.
//! - The output queue is bounded: an editor that stops reading stalls the library's
//!   output (and, through it, its handlers and its reading of input) instead of
//!   growing memory without end.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
    BufWriter, ReadBuf,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::PollSender;

/// The largest message accepted; bigger ones are read past and answered with an error.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Whole frames waiting for stdout, at most.
const OUTPUT_QUEUE: usize = 256;
/// Checked frames waiting for the library, at most.
const INPUT_QUEUE: usize = 64;

/// One frame as read.
enum Frame {
    /// `Content-Length: N\r\n\r\n` and the body after it, at `body_at`: the bytes the
    /// library reads, if the body passes.
    Whole {
        bytes: Vec<u8>,
        body_at: usize,
    },
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

/// The header every frame carries.
fn header(length: usize) -> String {
    format!("Content-Length: {length}\r\n\r\n")
}

/// Reads one `Content-Length` framed message; `None` at end of input.
async fn read_frame<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Frame>> {
    let mut headers = Headers::default();
    let mut line = Vec::new();
    loop {
        line.clear();
        if (&mut *reader)
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)
            .await?
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
        let skipped =
            tokio::io::copy(&mut reader.take(length as u64), &mut tokio::io::sink()).await?;
        if (skipped as usize) < length {
            return Ok(None);
        }
        return Ok(Some(Frame::TooLarge(length)));
    }
    // Our own header (the editor's may carry others, which the library would warn
    // about), then the body read straight in after it: one buffer, no copy.
    let mut bytes = header(length).into_bytes();
    let body_at = bytes.len();
    bytes.resize(body_at + length, 0);
    match reader.read_exact(&mut bytes[body_at..]).await {
        Ok(_) => Ok(Some(Frame::Whole { bytes, body_at })),
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(err) => Err(err),
    }
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = header(body.len()).into_bytes();
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

/// The JSON type of one member of a message, read without keeping it (a string is
/// looked at in place, an object or array skipped over).
#[derive(Default, Debug, PartialEq)]
enum Shape {
    #[default]
    Absent,
    Null,
    /// A string; whether it is `"2.0"` (the only value `jsonrpc` may have).
    Str {
        version: bool,
    },
    /// A number that fits the library's i64 ids.
    Int(i64),
    OtherNumber,
    Object,
    Array,
    Bool,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ShapeVisitor)
    }
}

struct ShapeVisitor;

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }
    fn visit_none<E>(self) -> Result<Shape, E> {
        Ok(Shape::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(Shape::Bool)
    }
    fn visit_str<E>(self, v: &str) -> Result<Shape, E> {
        Ok(Shape::Str {
            version: v == "2.0",
        })
    }
    fn visit_i64<E>(self, v: i64) -> Result<Shape, E> {
        Ok(Shape::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Shape, E> {
        Ok(i64::try_from(v).map_or(Shape::OtherNumber, Shape::Int))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(Shape::OtherNumber)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Shape::Object)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Shape::Array)
    }
}

/// An id as it is echoed in an error response.
#[derive(Default)]
enum Id {
    #[default]
    Absent,
    Null,
    Int(i64),
    Str(String),
    /// Anything the library cannot take as an id.
    Bad,
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl<'de> Visitor<'de> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON-RPC id")
            }
            fn visit_str<E>(self, v: &str) -> Result<Id, E> {
                Ok(Id::Str(v.to_owned()))
            }
            fn visit_unit<E>(self) -> Result<Id, E> {
                Ok(Id::Null)
            }
            fn visit_i64<E>(self, v: i64) -> Result<Id, E> {
                Ok(Id::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Id, E> {
                Ok(i64::try_from(v).map_or(Id::Bad, Id::Int))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Id, E> {
                Ok(Id::Bad)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Id, E> {
                Ok(Id::Bad)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Id, A::Error> {
                ShapeVisitor.visit_map(map).map(|_| Id::Bad)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Id, A::Error> {
                ShapeVisitor.visit_seq(seq).map(|_| Id::Bad)
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

impl Id {
    fn to_value(&self) -> Value {
        match self {
            Id::Int(n) => json!(n),
            Id::Str(s) => json!(s),
            Id::Absent | Id::Null | Id::Bad => Value::Null,
        }
    }
}

/// The members of a JSON-RPC message that decide whether the library can decode it.
/// Others are skipped; a member given twice is an error, as it is for the library.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    jsonrpc: Shape,
    #[serde(default)]
    id: Id,
    #[serde(default)]
    method: Shape,
    #[serde(default)]
    params: Shape,
    #[serde(default)]
    result: Shape,
    #[serde(default)]
    error: Shape,
}

/// Whether the message is a JSON-RPC request, notification or response the library can
/// decode; otherwise the id to answer with and the reason.
fn check_message(message: &Envelope) -> Result<(), (Value, &'static str)> {
    if matches!(message.id, Id::Bad) {
        return Err((
            Value::Null,
            "Invalid request: id must be a number or a string",
        ));
    }
    let id = message.id.to_value();
    if message.jsonrpc != (Shape::Str { version: true }) {
        return Err((id, "Invalid request: jsonrpc must be \"2.0\""));
    }
    match message.method {
        Shape::Str { .. } => {
            if matches!(
                message.params,
                Shape::Absent | Shape::Object | Shape::Array | Shape::Null
            ) {
                Ok(())
            } else {
                Err((id, "Invalid request: params must be an object or an array"))
            }
        }
        Shape::Absent if message.result != Shape::Absent || message.error != Shape::Absent => {
            Ok(())
        }
        Shape::Absent => Err((id, "Invalid request: no method")),
        _ => Err((id, "Invalid request: method must be a string")),
    }
}

/// Reads a body as an [`Envelope`]: what the editor hears when it is not one.
fn parse_envelope(body: &[u8]) -> Result<Envelope, Vec<u8>> {
    let parse_error = |detail: &dyn std::fmt::Display| {
        tracing::warn!("malformed JSON-RPC message: {detail}");
        error_response(Value::Null, -32700, &format!("Parse error: {detail}"))
    };
    let text = std::str::from_utf8(body).map_err(|err| parse_error(&err))?;
    // A struct would also be read from an array; a message is an object.
    if !text.trim_start().starts_with('{') {
        serde_json::from_str::<IgnoredAny>(text).map_err(|err| parse_error(&err))?;
        tracing::warn!("a JSON-RPC message that is not an object");
        return Err(error_response(
            Value::Null,
            -32600,
            "Invalid request: expected a JSON-RPC object",
        ));
    }
    serde_json::from_str::<Envelope>(text).map_err(|err| {
        if err.is_data() {
            // Valid JSON of the wrong shape (a member given twice, say).
            tracing::warn!("invalid JSON-RPC message: {err}");
            error_response(Value::Null, -32600, &format!("Invalid request: {err}"))
        } else {
            parse_error(&err)
        }
    })
}

/// What the stdin reader makes of one frame: the bytes for the library, or an error
/// response for the editor.
fn check_frame(incoming: Frame) -> Result<Vec<u8>, Vec<u8>> {
    let (bytes, body_at) = match incoming {
        Frame::Whole { bytes, body_at } => (bytes, body_at),
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
    let envelope = parse_envelope(&bytes[body_at..])?;
    if let Err((id, message)) = check_message(&envelope) {
        tracing::warn!("{message}");
        return Err(error_response(id, -32600, message));
    }
    Ok(bytes)
}

/// The library's input: checked frames from the stdin reader, read in place.
pub struct LibraryInput {
    frames: mpsc::Receiver<Vec<u8>>,
    current: Vec<u8>,
    read: usize,
}

impl AsyncRead for LibraryInput {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        while this.read == this.current.len() {
            match ready!(this.frames.poll_recv(cx)) {
                Some(frame) => {
                    this.current = frame;
                    this.read = 0;
                }
                // The stdin reader is done: end of input.
                None => return Poll::Ready(Ok(())),
            }
        }
        let n = buf.remaining().min(this.current.len() - this.read);
        buf.put_slice(&this.current[this.read..this.read + n]);
        this.read += n;
        Poll::Ready(Ok(()))
    }
}

/// The library's output: its writes are collected, and each flush hands the whole
/// frames written so far to the stdout queue — waiting while that queue is full.
pub struct LibraryOutput {
    pending: Vec<u8>,
    queue: PollSender<Vec<u8>>,
    /// For the stop signal on drop, when polling is no longer possible.
    stop: mpsc::Sender<Vec<u8>>,
}

/// Length of the whole frames at the start of `bytes` (the library writes whole
/// frames; a header that cannot be read passes through rather than holding output).
fn whole_frames(bytes: &[u8]) -> usize {
    let mut at = 0;
    while at < bytes.len() {
        let Some(end) = memchr::memmem::find(&bytes[at..], b"\r\n\r\n") else {
            break;
        };
        let mut headers = Headers::default();
        for line in bytes[at..at + end].split(|&b| b == b'\n') {
            headers.line(line);
        }
        let Some(length) = headers.length else {
            return bytes.len();
        };
        let next = at + end + 4 + length;
        if next > bytes.len() {
            break;
        }
        at = next;
    }
    at
}

fn closed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "stdout is closed")
}

impl AsyncWrite for LibraryOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        // Bounded by the library, which flushes after every few frames.
        self.get_mut().pending.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let whole = whole_frames(&this.pending);
        if whole == 0 {
            return Poll::Ready(Ok(()));
        }
        ready!(this.queue.poll_reserve(cx)).map_err(|_| closed())?;
        let rest = this.pending.split_off(whole);
        let frames = std::mem::replace(&mut this.pending, rest);
        this.queue.send_item(frames).map_err(|_| closed())?;
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }
}

impl Drop for LibraryOutput {
    fn drop(&mut self) {
        // The library is done (after `exit`): what is left, then an empty frame that
        // tells the writer to stop, though the stdin reader may still hold a sender.
        if !self.pending.is_empty() {
            let _ = self.stop.try_send(std::mem::take(&mut self.pending));
        }
        let _ = self.stop.try_send(Vec::new());
    }
}

type Input = Box<dyn AsyncRead + Unpin + Send>;
type Output = Box<dyn AsyncWrite + Unpin + Send>;

/// stdin and stdout as the runtime polls them: non-blocking when they are pipes or
/// sockets, else tokio's own (reads and writes on its blocking pool).
fn stdio() -> (Input, Output) {
    #[cfg(unix)]
    {
        let input = polled::reader(&std::io::stdin());
        let output = polled::writer(&std::io::stdout());
        tracing::debug!(
            "stdin {}, stdout {}",
            if input.is_some() {
                "polled"
            } else {
                "on a blocking thread"
            },
            if output.is_some() {
                "polled"
            } else {
                "on a blocking thread"
            },
        );
        (
            input.unwrap_or_else(|| Box::new(tokio::io::stdin())),
            output.unwrap_or_else(|| Box::new(tokio::io::stdout())),
        )
    }
    #[cfg(not(unix))]
    {
        (Box::new(tokio::io::stdin()), Box::new(tokio::io::stdout()))
    }
}

/// Pipes and sockets made non-blocking and registered with the runtime, from a
/// duplicate of the descriptor (the same open pipe; std's handles stay as they were).
#[cfg(unix)]
mod polled {
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::fs::FileTypeExt;

    use super::{Input, Output};

    enum Kind {
        Pipe,
        Socket,
    }

    fn duplicate(handle: &impl AsFd) -> Option<(OwnedFd, Kind)> {
        let fd = handle.as_fd().try_clone_to_owned().ok()?;
        let file = std::fs::File::from(fd);
        let kind = file.metadata().ok()?.file_type();
        let kind = if kind.is_fifo() {
            Kind::Pipe
        } else if kind.is_socket() {
            Kind::Socket
        } else {
            return None;
        };
        Some((OwnedFd::from(file), kind))
    }

    fn socket(fd: OwnedFd) -> Option<tokio::net::UnixStream> {
        let socket = std::os::unix::net::UnixStream::from(fd);
        socket.set_nonblocking(true).ok()?;
        tokio::net::UnixStream::from_std(socket).ok()
    }

    pub(super) fn reader(handle: &impl AsFd) -> Option<Input> {
        match duplicate(handle)? {
            (fd, Kind::Pipe) => tokio::net::unix::pipe::Receiver::from_owned_fd(fd)
                .ok()
                .map(|r| Box::new(r) as Input),
            (fd, Kind::Socket) => socket(fd).map(|s| Box::new(s) as Input),
        }
    }

    pub(super) fn writer(handle: &impl AsFd) -> Option<Output> {
        match duplicate(handle)? {
            (fd, Kind::Pipe) => tokio::net::unix::pipe::Sender::from_owned_fd(fd)
                .ok()
                .map(|w| Box::new(w) as Output),
            (fd, Kind::Socket) => socket(fd).map(|s| Box::new(s) as Output),
        }
    }
}

/// Reads, frames and checks the editor's messages: checked ones to the library, error
/// responses to the output queue. Dropping `to_library` at the end of input ends the
/// library's input.
async fn read_input(
    input: Input,
    to_library: mpsc::Sender<Vec<u8>>,
    errors: mpsc::Sender<Vec<u8>>,
) {
    let mut input = BufReader::with_capacity(1 << 16, input);
    loop {
        let incoming = match read_frame(&mut input).await {
            Ok(Some(incoming)) => incoming,
            Ok(None) => break,
            Err(err) => {
                tracing::error!("reading stdin: {err}");
                break;
            }
        };
        let sent = match check_frame(incoming) {
            Ok(message) => to_library.send(message).await.is_ok(),
            Err(response) => errors.send(response).await.is_ok(),
        };
        if !sent {
            break;
        }
    }
}

/// Writes the output queue to stdout until the empty frame that ends it, flushing
/// whenever the queue runs empty (a burst of frames goes out in as few writes as it
/// can).
async fn write_output(output: Output, mut queue: mpsc::Receiver<Vec<u8>>) {
    let mut output = BufWriter::with_capacity(1 << 16, output);
    while let Some(bytes) = queue.recv().await {
        if bytes.is_empty() || output.write_all(&bytes).await.is_err() {
            break;
        }
        if queue.is_empty() && output.flush().await.is_err() {
            break;
        }
    }
    let _ = output.flush().await;
}

/// The streams to hand the LSP library, and the task that owns stdout (await it after
/// the server returns so the last responses are flushed).
pub fn guarded_stdio() -> (LibraryInput, LibraryOutput, JoinHandle<()>) {
    let (out_tx, out_rx) = mpsc::channel::<Vec<u8>>(OUTPUT_QUEUE);
    let (in_tx, in_rx) = mpsc::channel::<Vec<u8>>(INPUT_QUEUE);
    let (input, output) = stdio();
    tokio::spawn(read_input(input, in_tx, out_tx.clone()));
    let writer = tokio::spawn(write_output(output, out_rx));
    let input = LibraryInput {
        frames: in_rx,
        current: Vec::new(),
        read: 0,
    };
    let output = LibraryOutput {
        pending: Vec::new(),
        queue: PollSender::new(out_tx.clone()),
        stop: out_tx,
    };
    (input, output, writer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(frame: Frame) -> Vec<u8> {
        match frame {
            Frame::Whole { bytes, body_at } => {
                assert_eq!(&bytes[..body_at], header(bytes.len() - body_at).as_bytes());
                bytes[body_at..].to_vec()
            }
            Frame::BadHeader => b"<bad header>".to_vec(),
            Frame::TooLarge(_) => b"<too large>".to_vec(),
        }
    }

    #[tokio::test]
    async fn frames_are_read_and_bad_headers_reported() {
        let input = b"Content-Length: 2\r\nContent-Type: x\r\n\r\n{}X-Other: 1\r\n\r\ncontent-length: 4\r\n\r\nnull".to_vec();
        let mut reader = BufReader::new(&input[..]);
        let mut next = async || read_frame(&mut reader).await.unwrap();
        assert_eq!(body(next().await.unwrap()), b"{}");
        assert_eq!(body(next().await.unwrap()), b"<bad header>");
        assert_eq!(body(next().await.unwrap()), b"null");
        assert!(next().await.is_none());
    }

    /// The error response for `body`, or `None` when it passes.
    fn verdict(body: &str) -> Option<Value> {
        let mut bytes = header(body.len()).into_bytes();
        let body_at = bytes.len();
        bytes.extend_from_slice(body.as_bytes());
        match check_frame(Frame::Whole { bytes, body_at }) {
            Ok(passed) => {
                assert_eq!(
                    &passed[body_at..],
                    body.as_bytes(),
                    "passed through as sent"
                );
                None
            }
            Err(response) => {
                let at = memchr::memmem::find(&response, b"\r\n\r\n").unwrap() + 4;
                Some(serde_json::from_slice(&response[at..]).unwrap())
            }
        }
    }

    fn code(body: &str) -> Option<(i64, Value)> {
        verdict(body).map(|r| (r["error"]["code"].as_i64().unwrap(), r["id"].clone()))
    }

    #[test]
    fn only_json_rpc_shapes_pass() {
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": 1, "method": "x", "params": {}}"#),
            None
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","method":"x","params":[1,{"a":null}]}"#),
            None
        );
        assert_eq!(code(r#"{"jsonrpc": "2.0", "id": 1, "result": null}"#), None);
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":"a","error":{"code":1,"message":"m"}}"#),
            None
        );
        assert_eq!(
            code(r#"{"jsonrpc": "2\u002e0", "id": 1, "method": "\u0078", "extra": [1]}"#),
            None
        );
        let invalid = |id: Value| Some((-32600, id));
        assert_eq!(code("[1, 2]"), invalid(Value::Null));
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": {}, "method": "x"}"#),
            invalid(Value::Null)
        );
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": 7, "method": 5}"#),
            invalid(json!(7))
        );
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": "s", "method": null}"#),
            invalid(json!("s"))
        );
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": 7, "method": "x", "params": 3}"#),
            invalid(json!(7))
        );
        assert_eq!(code(r#"{"id": 7, "method": "x"}"#), invalid(json!(7)));
        assert_eq!(
            code(r#"{"jsonrpc": "1.0", "id": 7, "method": "x"}"#),
            invalid(json!(7))
        );
        assert_eq!(code(r#"{"jsonrpc": "2.0", "id": 7}"#), invalid(json!(7)));
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": 1.5, "method": "x"}"#),
            invalid(Value::Null)
        );
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": 9223372036854775808, "method": "x"}"#),
            invalid(Value::Null)
        );
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": 1, "id": 2, "method": "x"}"#),
            invalid(Value::Null)
        );
        assert_eq!(code("\"just a string\""), invalid(Value::Null));
        let parse = Some((-32700, Value::Null));
        assert_eq!(code(r#"{"jsonrpc": "2.0", "id": 1, "method": "x""#), parse);
        assert_eq!(code(r#"{"jsonrpc": "2.0"} trailing"#), parse);
        assert_eq!(code("[1,"), parse);
        assert_eq!(code(""), parse);
    }

    #[test]
    fn invalid_utf8_is_a_parse_error() {
        let mut bytes = header(6).into_bytes();
        let body_at = bytes.len();
        bytes.extend_from_slice(b"\"\xff\xfe\"  ");
        let response = check_frame(Frame::Whole { bytes, body_at }).unwrap_err();
        assert!(String::from_utf8_lossy(&response).contains("-32700"));
    }

    #[test]
    fn only_whole_frames_are_handed_on() {
        let two = [frame(b"{\"a\":1}"), frame(b"{}")].concat();
        assert_eq!(whole_frames(&two), two.len());
        for cut in 0..two.len() {
            let whole = whole_frames(&two[..cut]);
            assert!(
                whole == 0 || whole == frame(b"{\"a\":1}").len(),
                "cut {cut}: {whole}"
            );
        }
        assert_eq!(
            whole_frames(b"X-Nonsense\r\n\r\nabc"),
            17,
            "an unreadable header passes"
        );
    }
}
