//! `switchboard-ls complete FILE:LINE:COL [--json]`: one completion, printed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;

use crate::engine::{CompletionRequest, Engine, language_for_path};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// FILE:LINE:COL, 1-based line and column (column in characters).
    pub location: String,
    /// Print {"text","provider","cached","latency_ms"} instead of the bare text.
    #[arg(long)]
    pub json: bool,
}

/// `FILE:LINE:COL` → (file, 1-based line, 1-based column). The file may contain `:`.
pub fn parse_location(location: &str) -> Result<(PathBuf, usize, usize), String> {
    let mut parts = location.rsplitn(3, ':');
    let col = parts.next();
    let line = parts.next();
    let file = parts.next();
    let (Some(file), Some(line), Some(col)) = (file, line, col) else {
        return Err(format!("expected FILE:LINE:COL, got \"{location}\""));
    };
    let number = |what: &str, text: &str| -> Result<usize, String> {
        match text.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(format!("{what} must be a number from 1, got \"{text}\"")),
        }
    };
    Ok((
        PathBuf::from(file),
        number("LINE", line)?,
        number("COL", col)?,
    ))
}

/// Byte offset of 1-based `line`, `col` (chars). A position outside the text — past
/// its last line, or more than one past the end of its line — is an error that says
/// how far the text goes.
pub fn offset_of(text: &str, line: usize, col: usize) -> Result<usize, String> {
    let lines = text.split('\n').count() - usize::from(text.ends_with('\n'));
    if line > lines.max(1) {
        return Err(format!(
            "line {line} is outside the file ({lines} line{})",
            if lines == 1 { "" } else { "s" }
        ));
    }
    let mut start = 0;
    for _ in 1..line {
        start += text[start..]
            .find('\n')
            .map_or(text.len() - start, |i| i + 1);
    }
    let line_text = &text[start..];
    let line_text = &line_text[..line_text.find('\n').unwrap_or(line_text.len())];
    let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
    let chars = line_text.chars().count();
    if col > chars + 1 {
        return Err(format!(
            "column {col} is outside line {line} ({chars} character{}; the end of the line is column {})",
            if chars == 1 { "" } else { "s" },
            chars + 1
        ));
    }
    Ok(start
        + line_text
            .char_indices()
            .nth(col - 1)
            .map_or(line_text.len(), |(i, _)| i))
}

pub async fn run(args: Args) -> ExitCode {
    let (file, line, col) = match parse_location(&args.location) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("switchboard-ls complete: {message}");
            return ExitCode::from(2);
        }
    };
    let bytes = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(err) => {
            eprintln!(
                "switchboard-ls complete: cannot read {}: {err}",
                file.display()
            );
            return ExitCode::from(2);
        }
    };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let cursor = match offset_of(&text, line, col) {
        Ok(cursor) => cursor,
        Err(message) => {
            eprintln!("switchboard-ls complete: {}: {message}", file.display());
            return ExitCode::from(2);
        }
    };
    let loaded = super::load_config();
    for problem in &loaded.problems {
        eprintln!("config: {problem}");
    }
    let engine = Engine::new(loaded.config);
    let path = std::fs::canonicalize(&file).unwrap_or(file.clone());
    let request = CompletionRequest {
        cursor,
        text: Arc::from(text),
        language: language_for_path(&file),
        path: Some(path),
        neighbours: Default::default(),
    };
    let completion = engine.complete(request).await;
    engine.flush_cache();
    let latency_ms = completion.latency.as_secs_f64() * 1000.0;
    if args.json {
        println!(
            "{}",
            json!({
                "text": completion.text,
                "provider": completion.provider,
                "cached": completion.cached,
                "latency_ms": (latency_ms * 1000.0).round() / 1000.0,
            })
        );
    } else if completion.text.is_empty() {
        eprintln!(
            "no suggestion ({} · {latency_ms:.2} ms)",
            completion.provider
        );
    } else {
        println!("{}", completion.text);
        eprintln!(
            "{} ({}) · {latency_ms:.2} ms{}",
            completion.provider,
            completion.model,
            if completion.cached { " · cached" } else { "" }
        );
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_from_the_right() {
        assert_eq!(
            parse_location("C:/a:b.rs:3:7").unwrap(),
            (PathBuf::from("C:/a:b.rs"), 3, 7)
        );
        assert!(parse_location("file.rs:0:1").is_err());
        assert!(parse_location("file.rs:x:1").is_err());
        assert!(parse_location("file.rs").is_err());
    }

    #[test]
    fn offsets_count_chars_and_positions_outside_are_errors() {
        let text = "ab\r\n日本語\nxy";
        assert_eq!(offset_of(text, 2, 2), Ok("ab\r\n日".len()));
        assert_eq!(offset_of(text, 1, 3), Ok(2));
        assert_eq!(offset_of(text, 3, 3), Ok(text.len()));
        assert_eq!(
            offset_of(text, 1, 99).unwrap_err(),
            "column 99 is outside line 1 (2 characters; the end of the line is column 3)"
        );
        assert_eq!(
            offset_of(text, 9, 1).unwrap_err(),
            "line 9 is outside the file (3 lines)"
        );
        // A final newline does not make a line of its own to complete in.
        assert_eq!(
            offset_of("x\n", 2, 1).unwrap_err(),
            "line 2 is outside the file (1 line)"
        );
    }
}
