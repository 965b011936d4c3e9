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
/// 2: keys are XXH3-128 (version 1 files hold FNV keys, which would never match).
const VERSION: u32 = 2;
/// A file bigger than this is not ours (or is damaged): ignored.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
}

#[derive(Serialize, Deserialize)]
struct Line {
    key: String,
    suffix_hash: u64,
    prefix_tail: String,
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
    let bytes = match read_capped(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::warn!("cache file {}: {err}; starting empty", path.display());
            return Vec::new();
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let mut lines = text.lines();
    let header: Option<Header> = lines.next().and_then(|l| serde_json::from_str(l).ok());
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
        match serde_json::from_str::<Line>(line) {
            Ok(l) => match ContextKey::from_hex(&l.key) {
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

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Writes `entries` (oldest first) atomically.
pub fn save(path: &Path, entries: &[(ContextKey, Entry)]) -> std::io::Result<()> {
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
        for (key, entry) in entries.iter().filter(|(_, e)| e.persist) {
            let line = Line {
                key: key.to_hex(),
                suffix_hash: entry.suffix_hash,
                prefix_tail: entry.prefix_tail.clone(),
                text: entry.text.clone(),
                provider: entry.provider.clone(),
                model: entry.model.clone(),
                created: entry.created,
            };
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    std::fs::rename(&tmp, path)
}
