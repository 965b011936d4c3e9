//! The stats file, `$XDG_STATE_HOME/switchboard/stats-v1.jsonl`: JSON lines of per-hour
//! deltas ([`Line`]), shared by every server on the machine (one per editor window).
//!
//! Why this shape: appending is the one write several processes can make to one file
//! without coordinating: each flush is a single `write` of whole lines to a file
//! opened with `O_APPEND`, so lines from two servers never interleave and never
//! overwrite each other, and since lines are deltas, a reader just adds them up. The
//! file is bounded by compaction: past [`max_bytes`], lines for the same hour and
//! provider are folded into one, hours older than [`RETENTION`] are dropped (and the
//! oldest hours after that if it is still too big), and the result replaces the file
//! by an atomic rename. Appenders hold a shared advisory lock (`stats-v1.lock`, via
//! `flock`) from opening the file to the end of their write, the compactor an exclusive
//! one from reading to the rename, so no append can land in a file that is being
//! replaced. Per-process files merged on read would need no lock, but leave a file per
//! editor window ever opened to clean up.
//!
//! A line that does not parse is skipped; a file with such lines, or one that cannot
//! be read, is reported once and started afresh (its readable lines kept).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::record::{HOUR, HourCounts, Line, VERSION, hour_of};

/// Hours of history kept.
pub const RETENTION: u64 = 35 * 24 * HOUR;

/// The file is compacted when it grows past this.
pub const MAX_BYTES: u64 = 1 << 20;

/// Read at most this much of a file (a file grown past it by some other program is
/// read in part, not loaded whole).
const READ_LIMIT: u64 = 16 << 20;

/// `$XDG_STATE_HOME/switchboard/stats-v1.jsonl`, else `~/.local/state/switchboard/...`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("state"))
        })?;
    Some(
        base.join("switchboard")
            .join(format!("stats-v{VERSION}.jsonl")),
    )
}

/// The compaction threshold: [`MAX_BYTES`], or `SWITCHBOARD_STATS_MAX_BYTES` (for tests,
/// which need compactions to happen while servers write).
pub fn max_bytes() -> u64 {
    std::env::var("SWITCHBOARD_STATS_MAX_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MAX_BYTES)
        .max(256)
}

/// How often a server writes: [`super::recorder::FLUSH_PERIOD`], or
/// `SWITCHBOARD_STATS_FLUSH_MS` (for tests, which need servers to write while others do).
pub fn flush_period() -> Duration {
    std::env::var("SWITCHBOARD_STATS_FLUSH_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(super::recorder::FLUSH_PERIOD, Duration::from_millis)
        .max(Duration::from_millis(10))
}

fn lock_path(path: &Path) -> PathBuf {
    path.with_extension("lock")
}

/// What a read found.
#[derive(Debug, Default)]
pub struct Contents {
    pub lines: Vec<Line>,
    /// Lines that did not parse (skipped).
    pub skipped: usize,
    /// Why the file could not be read at all.
    pub error: Option<String>,
}

impl Contents {
    /// One sentence for the user when something was wrong, else `None`.
    pub fn warning(&self, path: &Path) -> Option<String> {
        match (&self.error, self.skipped) {
            (Some(error), _) => Some(format!(
                "stats file {}: {error}; starting afresh",
                path.display()
            )),
            (None, 0) => None,
            (None, n) => Some(format!(
                "stats file {}: {n} unreadable line{} skipped",
                path.display(),
                if n == 1 { "" } else { "s" }
            )),
        }
    }
}

/// Reads and parses the file; a missing file is empty, not an error.
pub fn read(path: &Path) -> Contents {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(file) => {
            if let Err(err) = file.take(READ_LIMIT).read_to_end(&mut bytes) {
                return Contents {
                    error: Some(err.to_string()),
                    ..Default::default()
                };
            }
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Contents::default(),
        Err(err) => {
            return Contents {
                error: Some(err.to_string()),
                ..Default::default()
            };
        }
    }
    parse(&bytes)
}

/// Parses JSON lines, skipping blank lines and counting the ones that do not parse.
pub fn parse(bytes: &[u8]) -> Contents {
    let mut contents = Contents::default();
    for raw in bytes.split(|&b| b == b'\n') {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Line>(raw) {
            Ok(line) => contents.lines.push(line),
            Err(_) => contents.skipped += 1,
        }
    }
    contents
}

/// Lines folded: one per hour and provider, changes in time order, nothing older than
/// `now - RETENTION`; then the oldest hours dropped until it fits `budget` bytes.
pub fn fold(lines: Vec<Line>, now: u64, budget: u64) -> Vec<Line> {
    let oldest = now.saturating_sub(RETENTION);
    let mut hours: BTreeMap<(u64, String), HourCounts> = BTreeMap::new();
    let mut changes = Vec::new();
    for line in lines {
        match line {
            Line::Hour(h) if h.hour + HOUR > oldest => {
                hours
                    .entry((h.hour, h.provider.clone()))
                    .or_insert_with(|| HourCounts::new(h.hour, &h.provider))
                    .add(&h);
            }
            Line::Change(c) if c.at >= oldest => changes.push(c),
            _ => {}
        }
    }
    changes.sort_by_key(|c| c.at);
    let mut folded: Vec<Line> = hours.into_values().map(Line::Hour).collect();
    folded.extend(changes.into_iter().map(Line::Change));
    let size = |lines: &[Line]| -> u64 { lines.iter().map(|l| encode(l).len() as u64).sum() };
    let mut total = size(&folded);
    let when = |line: &Line| match line {
        Line::Hour(h) => h.hour,
        Line::Change(c) => c.at,
    };
    // The newest hour is never dropped: it is what servers are writing now.
    let newest = folded.iter().map(|l| hour_of(when(l))).max().unwrap_or(0);
    while total > budget {
        // The oldest entry goes first, hour or change alike.
        let Some((index, _)) = folded
            .iter()
            .enumerate()
            .filter(|(_, l)| hour_of(when(l)) < newest)
            .min_by_key(|(_, l)| when(l))
        else {
            break;
        };
        let removed = folded.remove(index);
        total -= encode(&removed).len() as u64;
    }
    folded
}

fn encode(line: &Line) -> String {
    let mut text = serde_json::to_string(line).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes for one server; reports trouble once, then quietly keeps trying.
pub struct Writer {
    path: Option<PathBuf>,
    warned: AtomicBool,
}

impl Writer {
    pub fn new(path: Option<PathBuf>) -> Self {
        Writer {
            path,
            warned: AtomicBool::new(false),
        }
    }

    fn warn(&self, message: String) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!("{message}");
        } else {
            tracing::debug!("{message}");
        }
    }

    /// At start: a file that cannot be read or has lines that do not parse is
    /// reported once and rewritten with what could be read.
    pub fn prepare(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let contents = read(path);
        let Some(warning) = contents.warning(path) else {
            return;
        };
        self.warn(warning);
        if let Err(err) = self.rewrite(path, |_| contents.lines) {
            tracing::debug!("stats file {}: {err}", path.display());
        }
    }

    /// Appends `lines` in one write; compacts the file if that made it too big.
    pub fn append(&self, lines: &[Line]) {
        let Some(path) = &self.path else {
            return;
        };
        let text: String = lines.iter().map(encode).collect();
        match append_locked(path, text.as_bytes()) {
            Ok(size) if size > max_bytes() => {
                let now = super::recorder::unix_now();
                let budget = max_bytes() / 2;
                if let Err(err) = self.rewrite(path, |current| fold(current, now, budget)) {
                    self.warn(format!("stats file {}: {err}", path.display()));
                }
            }
            Ok(_) => {}
            Err(err) => self.warn(format!(
                "stats file {}: {err}; these counts are lost",
                path.display()
            )),
        }
    }

    /// Under the exclusive lock: reads the file, transforms its lines, and replaces it
    /// by rename.
    fn rewrite(
        &self,
        path: &Path,
        transform: impl FnOnce(Vec<Line>) -> Vec<Line>,
    ) -> std::io::Result<()> {
        let lock = open_lock(path)?;
        lock.lock()?;
        let current = read(path);
        let lines = transform(current.lines);
        let text: String = lines.iter().map(encode).collect();
        let temp = path.with_extension(format!("tmp.{}", std::process::id()));
        let result = (|| {
            let mut file = File::create(&temp)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        let _ = lock.unlock();
        result
    }
}

fn open_lock(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path(path))
}

/// One `write` of whole lines under the shared lock; returns the file's size after it.
fn append_locked(path: &Path, bytes: &[u8]) -> std::io::Result<u64> {
    let lock = open_lock(path)?;
    lock.lock_shared()?;
    let result = (|| {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(bytes)?;
        Ok(file.metadata()?.len())
    })();
    let _ = lock.unlock();
    result
}

#[cfg(test)]
mod tests {
    use super::super::record::StateChange;
    use super::*;

    fn hour(hour: u64, provider: &str, served: u64) -> Line {
        let mut counts = HourCounts::new(hour, provider);
        counts.served = served;
        Line::Hour(counts)
    }

    #[test]
    fn garbage_lines_are_skipped_and_counted() {
        let good = encode(&hour(0, "a", 1));
        let bytes =
            format!("{good}not json\n\u{0}\u{1}\n{{\"type\":\"hour\",\"hour\":\"x\"}}\n\n{good}");
        let contents = parse(bytes.as_bytes());
        assert_eq!(contents.lines.len(), 2);
        assert_eq!(contents.skipped, 3);
        assert!(
            contents
                .warning(Path::new("f"))
                .unwrap()
                .contains("3 unreadable lines")
        );
    }

    #[test]
    fn folding_adds_up_hours_and_drops_old_ones() {
        let now = 100 * 24 * HOUR;
        let lines = vec![
            hour(now - HOUR, "a", 2),
            hour(now - HOUR, "a", 3),
            hour(now - HOUR, "b", 1),
            hour(now - RETENTION - 2 * HOUR, "a", 9),
            Line::Change(StateChange {
                at: now + 10,
                provider: "a".into(),
                to: "down".into(),
                ..Default::default()
            }),
        ];
        let folded = fold(lines, now, u64::MAX);
        assert_eq!(folded.len(), 3);
        assert!(matches!(&folded[0], Line::Hour(h) if h.provider == "a" && h.served == 5));
        // Too big: the oldest goes first, but never the newest hour.
        let small = fold(folded.clone(), now, 1);
        assert_eq!(small.len(), 1);
        assert!(matches!(&small[0], Line::Change(_)));
    }

    #[test]
    fn appends_and_compaction_keep_every_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state").join("stats-v1.jsonl");
        let writer = Writer::new(Some(path.clone()));
        let now = super::super::recorder::unix_now();
        for _ in 0..50 {
            writer.append(&[hour(now - now % HOUR, "a", 1)]);
        }
        writer.rewrite(&path, |l| fold(l, now, u64::MAX)).unwrap();
        let contents = read(&path);
        assert_eq!(contents.lines.len(), 1);
        assert!(matches!(&contents.lines[0], Line::Hour(h) if h.served == 50));
    }
}
