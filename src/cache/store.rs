//! The cache on disk: one JSON-lines file, versioned by its first line.
//!
//! Why not SQLite or sled: the cache is a few thousand small entries read once at
//! start and written whole in the background; a plain file written atomically
//! (temp file + rename) needs no new dependency, cannot be left half-written, and a
//! corrupt, truncated or foreign file is simply ignored (with a warning) and replaced
//! on the next write.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::key::ContextKey;
use super::{Entry, PrefixTail};

const FORMAT: &str = "switchboard-cache";
/// 2: keys are XXH3-128 (version 1 files hold FNV keys, which would never match).
pub const VERSION: u32 = 2;
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
    prefix_hash: String,
    prefix_len: u32,
    prefix_whole: bool,
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
    /// The prefix's end as [`PrefixTail`]: hex hash, bytes, whole.
    prefix_hash: &'a str,
    prefix_len: u32,
    prefix_whole: bool,
    text: String,
    provider: String,
    model: String,
    created: u64,
}

/// `$XDG_CACHE_HOME/switchboard/completions-v2.jsonl` (or `~/.cache/...`).
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
    let started = std::time::Instant::now();
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
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(err) => {
            tracing::warn!("cache file {}: {err}; starting empty", path.display());
            return Vec::new();
        }
    };
    // A line at a time through a small buffer: no buffer the size of the file to fault
    // in, and serde checks the UTF-8 of each string it reads, so the file needs no pass
    // of its own (a damaged line is skipped like any other).
    let mut reader = std::io::BufReader::with_capacity(64 << 10, file.take(MAX_FILE_BYTES));
    let mut line = Vec::with_capacity(1024);
    let mut next_line = |line: &mut Vec<u8>| loop {
        line.clear();
        match reader.read_until(b'\n', line) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(err) => {
                tracing::warn!("cache file {}: {err}; the rest is ignored", path.display());
                return false;
            }
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        if !line.is_empty() {
            return true;
        }
    };
    let header: Option<Header> = next_line(&mut line)
        .then(|| serde_json::from_slice(&line).ok())
        .flatten();
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
    while next_line(&mut line) {
        match serde_json::from_slice::<Line>(&line) {
            Ok(l) => match (ContextKey::from_hex(l.key), l.prefix()) {
                (Some(key), Some(prefix)) => entries.push((
                    key,
                    Entry {
                        text: l.text,
                        provider: l.provider,
                        model: l.model,
                        created: l.created,
                        suffix_hash: l.suffix_hash,
                        prefix,
                        persist: true,
                    },
                )),
                _ => bad += 1,
            },
            Err(_) => bad += 1,
        }
    }
    tracing::debug!(
        "cache file {}: {} entries read in {:?}",
        path.display(),
        entries.len(),
        started.elapsed()
    );
    if bad > 0 {
        tracing::warn!(
            "cache file {}: {bad} damaged entries skipped (the file will be rewritten)",
            path.display()
        );
    }
    entries
}

impl Line<'_> {
    fn prefix(&self) -> Option<PrefixTail> {
        Some(PrefixTail {
            hash: u128::from_str_radix(self.prefix_hash, 16).ok()?,
            len: self.prefix_len,
            whole: self.prefix_whole,
        })
    }
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
        prefix_hash: format!("{:032x}", entry.prefix.hash),
        prefix_len: entry.prefix.len,
        prefix_whole: entry.prefix.whole,
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
