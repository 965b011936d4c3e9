//! The cache on disk: one JSON-lines file, versioned by its first line.
//!
//! Why not SQLite or sled: the cache is a few thousand small entries read once at
//! start and written whole in the background; a plain file written atomically
//! (temp file + rename) needs no new dependency, cannot be left half-written, and a
//! corrupt, truncated or foreign file is simply ignored (with a warning) and replaced
//! on the next write.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Entry;
use super::key::ContextKey;

const FORMAT: &str = "switchboard-cache";
const VERSION: u32 = 1;
/// A file bigger than this is not ours (or is damaged): ignored.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

/// [`Line`] as written: the same fields, borrowed.
#[derive(Serialize)]
struct LineRef<'a> {
    key: String,
    suffix_hash: u64,
    prefix_tail: &'a str,
    text: &'a str,
    provider: &'a str,
    model: &'a str,
    created: u64,
}

#[derive(Deserialize)]
struct Line<'a> {
    /// Hex digits: never escaped, so borrowed from the file.
    key: &'a str,
    suffix_hash: u64,
    prefix_tail: String,
    text: String,
    provider: String,
    model: String,
    created: u64,
}

/// `$XDG_CACHE_HOME/switchboard/completions-v1.jsonl` (or `~/.cache/...`).
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(
        base.join("switchboard")
            .join(format!("completions-v{VERSION}.jsonl")),
    )
}

/// Reads the file. Anything wrong with it is a warning and an empty (or partial) cache,
/// never an error.
pub fn load(path: &Path) -> Vec<(ContextKey, Entry)> {
    let metadata = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(err) => {
            tracing::warn!("cache file {}: {err}; starting empty", path.display());
            return Vec::new();
        }
    };
    if !metadata.is_file() {
        tracing::warn!(
            "cache file {} is not a regular file; ignored",
            path.display()
        );
        return Vec::new();
    }
    if metadata.len() > MAX_FILE_BYTES {
        tracing::warn!(
            "cache file {} is {} bytes (over {MAX_FILE_BYTES}); ignored and will be replaced",
            path.display(),
            metadata.len()
        );
        return Vec::new();
    }
    let bytes = match read_capped(path, metadata.len()) {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!("cache file {}: {err}; starting empty", path.display());
            return Vec::new();
        }
    };
    // Line by line over the bytes: serde checks the UTF-8 of each string it reads, so
    // the file needs no pass of its own (a damaged line is skipped like any other).
    let mut lines = bytes
        .split(|b| *b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty());
    let header: Option<Header> = lines.next().and_then(|l| serde_json::from_slice(l).ok());
    match header {
        Some(h) if h.format == FORMAT && h.version == VERSION => {}
        _ => {
            tracing::warn!(
                "cache file {} is not a version {VERSION} switchboard cache; ignored and will be replaced",
                path.display()
            );
            return Vec::new();
        }
    }
    let mut entries = Vec::new();
    let mut bad = 0;
    for line in lines {
        match serde_json::from_slice::<Line>(line) {
            Ok(l) => match ContextKey::from_hex(l.key) {
                Some(key) => entries.push((
                    key,
                    Entry {
                        text: l.text,
                        provider: l.provider,
                        model: l.model,
                        created: l.created,
                        suffix_hash: l.suffix_hash,
                        prefix_tail: l.prefix_tail,
                        persist: true,
                    },
                )),
                None => bad += 1,
            },
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        tracing::warn!(
            "cache file {}: {bad} damaged entries skipped (the file will be rewritten)",
            path.display()
        );
    }
    entries
}

/// The file's bytes, at most [`MAX_FILE_BYTES`], read into a buffer of the size the
/// file had (so a full file is read without the buffer growing and copying).
fn read_capped(path: &Path, expected: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(expected.min(MAX_FILE_BYTES) as usize + 1);
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// One entry as a line of the file (without its newline), serialised from borrowed
/// fields; `None` for an entry that is never written (`persist: false`).
pub fn line(key: &ContextKey, entry: &Entry) -> Option<Vec<u8>> {
    if !entry.persist {
        return None;
    }
    serde_json::to_vec(&LineRef {
        key: key.to_hex(),
        suffix_hash: entry.suffix_hash,
        prefix_tail: &entry.prefix_tail,
        text: &entry.text,
        provider: &entry.provider,
        model: &entry.model,
        created: entry.created,
    })
    .ok()
}

/// Writes the file atomically: the header, then `lines` (from [`line`], oldest first).
/// Lines, not entries, so a caller serialises one entry at a time under its lock
/// instead of cloning the whole cache first.
pub fn save(path: &Path, lines: impl Iterator<Item = Vec<u8>>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        let header = Header {
            format: FORMAT.into(),
            version: VERSION,
        };
        serde_json::to_writer(&mut out, &header)?;
        out.write_all(b"\n")?;
        for line in lines {
            out.write_all(&line)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    std::fs::rename(&tmp, path)
}
