//! Random incremental edits on a document, in both encodings, checked against a
//! naive string model of the position rules (DESIGN.md §6: no position panics).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_ls::document::{Document, Edit, Encoding, LineCol};

/// Byte ranges (start, end before the break) of each line: `\n`, `\r\n`, lone `\r`.
fn lines(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let (mut out, mut start, mut i) = (Vec::new(), 0, 0);
    while i < bytes.len() {
        if bytes[i] == b'\n' || bytes[i] == b'\r' {
            out.push((start, i));
            if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
            start = i + 1;
        }
        i += 1;
    }
    out.push((start, bytes.len()));
    out
}

fn offset(text: &str, pos: LineCol, encoding: Encoding) -> usize {
    let Some(&(start, end)) = lines(text).get(pos.line as usize) else {
        return text.len();
    };
    let mut units = 0u64;
    for (at, c) in text[start..end].char_indices() {
        let width = match encoding {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
        } as u64;
        if units + width > u64::from(pos.col) {
            return start + at;
        }
        units += width;
    }
    end
}

type RawEdit = (Option<(u32, u32, u32, u32)>, String);

fuzz_target!(|input: (String, bool, Vec<Vec<RawEdit>>)| {
    let (initial, utf8, batches) = input;
    let encoding = if utf8 {
        Encoding::Utf8
    } else {
        Encoding::Utf16
    };
    let mut doc = Document::new(&initial, 0, "text");
    let mut model = initial;
    for (version, batch) in batches.into_iter().take(16).enumerate() {
        let edits: Vec<Edit> = batch
            .into_iter()
            .take(8)
            .map(|(range, text)| Edit {
                // Small lines and columns are where the interesting cases are.
                range: range.map(|(l1, c1, l2, c2)| {
                    let small = |v: u32| if v & 0x8000_0000 == 0 { v % 64 } else { v };
                    (
                        LineCol {
                            line: small(l1),
                            col: small(c1),
                        },
                        LineCol {
                            line: small(l2),
                            col: small(c2),
                        },
                    )
                }),
                text,
            })
            .collect();
        doc.apply(&edits, version as i32, encoding);
        for edit in &edits {
            match edit.range {
                None => model = edit.text.clone(),
                Some((a, b)) => {
                    let start = offset(&model, a, encoding);
                    let end = offset(&model, b, encoding).max(start);
                    model.replace_range(start..end, &edit.text);
                }
            }
        }
        assert_eq!(&*doc.text(), model.as_str());
    }
});
