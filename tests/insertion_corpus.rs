//! The insertion corpus (`tests/fixtures/insertion/*.toml`): real editing situations,
//! each a document with a cursor marker `‸`, the raw answer a provider of a given kind
//! sends, and the document expected after the user accepts the suggestion.
//!
//! Every case goes through the engine with the answer served over HTTP by the fake
//! provider in that kind's wire format (the editor's code path below the LSP layer);
//! a sample goes through the binary over stdio as `textDocument/completion` and
//! `textDocument/inlineCompletion`, applied the way an editor applies the result. The
//! document after accepting must equal the expected one, and must not have more syntax
//! errors than before (tree-sitter's Python, Rust, TypeScript, Go, JSON and YAML
//! grammars).

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use support::fake_provider::{FakeProvider, Reply};
use support::lsp_client::{LspClient, TestEnv};
use switchboard_ls::config::{Config, ProviderConfig, ProviderKind, Secret};
use switchboard_ls::engine::{CompletionRequest, Engine};

const CURSOR: char = '‸';

#[derive(Debug, Deserialize)]
struct CorpusFile {
    case: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
struct Case {
    name: String,
    kind: String,
    #[serde(default)]
    about: String,
    document: String,
    answer: String,
    expected: String,
    #[serde(default)]
    crlf: bool,
    /// Filled in from the file name.
    #[serde(skip)]
    language: String,
}

impl Case {
    fn id(&self) -> String {
        format!("{}/{}", self.language, self.name)
    }

    /// The document without the marker, the cursor's byte offset, and the expected
    /// document, with CRLF line endings when the case asks for them.
    fn prepared(&self) -> (String, usize, String) {
        let eol = |s: &str| {
            if self.crlf {
                s.replace("\r\n", "\n").replace('\n', "\r\n")
            } else {
                s.to_string()
            }
        };
        let document = eol(&self.document);
        let cursor = document
            .find(CURSOR)
            .unwrap_or_else(|| panic!("{}: no cursor marker", self.id()));
        let text = document.replacen(CURSOR, "", 1);
        (text, cursor, eol(&self.expected))
    }

    /// (line, UTF-16 column) of the cursor.
    fn position(&self) -> (u32, u32) {
        let (text, cursor, _) = self.prepared();
        let before = &text[..cursor];
        let line = before.matches('\n').count() as u32;
        let start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[start..].encode_utf16().count() as u32)
    }
}

fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SWITCHBOARD_CORPUS_DIR") {
        return dir.into();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/insertion")
}

fn corpus() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/fixtures/insertion")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        // `python.toml`, `python.core.toml`: the language is the name up to its first dot.
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let language = name.split('.').next().unwrap_or_default().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed: CorpusFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for mut case in parsed.case {
            case.language = language.clone();
            cases.push(case);
        }
    }
    cases
}

/// What `base_url` each kind needs to reach the fake at its real path.
fn base_url(kind: &str, fake: &FakeProvider) -> String {
    let suffix = match kind {
        "openai" | "openai-fim" => "/v1",
        _ => "",
    };
    format!("{}{suffix}", fake.url())
}

fn provider(kind: &str, fake: &FakeProvider) -> ProviderConfig {
    let parsed: ProviderKind = kind.parse().unwrap_or_else(|_| panic!("kind {kind}"));
    let mut config = ProviderConfig::with_defaults("corpus", parsed, "corpus-model");
    config.base_url = base_url(kind, fake);
    config.api_key = Some(Secret::new("corpus-key"));
    config.status_page = None;
    config.status_component = None;
    config
}

fn extension(language: &str) -> &str {
    match language {
        "python" => "py",
        "rust" => "rs",
        "typescript" => "ts",
        "go" => "go",
        "json" => "json",
        "yaml" => "yaml",
        other => other,
    }
}

/// Syntax errors in `text` as its language's tree-sitter grammar sees them: ERROR and
/// MISSING nodes.
fn syntax_errors(language: &str, text: &str) -> usize {
    let grammar: tree_sitter::Language = match language {
        "python" => tree_sitter_python::LANGUAGE.into(),
        "rust" => tree_sitter_rust::LANGUAGE.into(),
        "typescript" => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        "go" => tree_sitter_go::LANGUAGE.into(),
        "json" => tree_sitter_json::LANGUAGE.into(),
        "yaml" => tree_sitter_yaml::LANGUAGE.into(),
        other => panic!("no grammar for {other}"),
    };
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&grammar).unwrap();
    let tree = parser.parse(text, None).unwrap();
    let mut count = 0;
    let mut cursor = tree.walk();
    let mut done = false;
    while !done {
        let node = cursor.node();
        if node.is_error() || node.is_missing() {
            count += 1;
        }
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                done = true;
                break;
            }
        }
    }
    count
}

fn show(text: &str) -> String {
    text.replace('\t', "→").replace('\r', "␍")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_corpus_case_is_inserted_as_the_model_meant_it() {
    let cases = corpus();
    let fake = FakeProvider::start();
    let mut failures = Vec::new();
    let mut syntax_failures = Vec::new();
    let mut exact = 0;
    for case in &cases {
        // One engine per case: a fresh cache and health, one provider of the case's kind.
        let mut config = Config::offline();
        config.providers.insert(0, provider(&case.kind, &fake));
        config.cache.path = "off".into();
        let engine = Engine::new(config);
        fake.push(Reply::ok(&case.answer));
        let (text, cursor, expected) = case.prepared();
        let completion = engine
            .complete(CompletionRequest {
                text: Arc::from(text.as_str()),
                cursor,
                language: case.language.clone(),
                path: Some(PathBuf::from(format!(
                    "corpus.{}",
                    extension(&case.language)
                ))),
                neighbours: Default::default(),
            })
            .await;
        assert_eq!(
            completion.provider,
            "corpus",
            "{}: served by {} instead of the fake",
            case.id(),
            completion.provider
        );
        let accepted = format!("{}{}{}", &text[..cursor], completion.text, &text[cursor..]);
        if accepted == expected {
            exact += 1;
        } else {
            failures.push(format!(
                "{} ({}): {}\n  answer:   {:?}\n  inserted: {:?}\n  expected:\n{}\n  got:\n{}",
                case.id(),
                case.kind,
                case.about,
                show(&case.answer),
                show(&completion.text),
                show(&expected),
                show(&accepted)
            ));
        }
        let before = syntax_errors(&case.language, &text);
        let after = syntax_errors(&case.language, &accepted);
        if after > before {
            syntax_failures.push(format!(
                "{}: {before} syntax errors before accepting, {after} after:\n{}",
                case.id(),
                show(&accepted)
            ));
        }
    }
    println!("insertion corpus: {exact} of {} exact", cases.len());
    assert!(
        failures.is_empty() && syntax_failures.is_empty(),
        "insertion corpus: {exact} of {} exact\n\n{}\n\n{}",
        cases.len(),
        failures.join("\n\n"),
        syntax_failures.join("\n\n")
    );
    assert!(cases.len() >= 80, "the corpus has {} cases", cases.len());
}

#[test]
fn every_expected_document_has_no_more_syntax_errors_than_before() {
    let mut worse = Vec::new();
    for case in corpus() {
        let (text, _, expected) = case.prepared();
        let before = syntax_errors(&case.language, &text);
        let after = syntax_errors(&case.language, &expected);
        if after > before {
            worse.push(format!("{}: {before} → {after}", case.id()));
        }
    }
    assert!(worse.is_empty(), "{}", worse.join("\n"));
}

#[test]
fn the_syntax_check_sees_a_broken_document() {
    assert_eq!(
        syntax_errors("python", "x = math.sqrt((a * a) + (b * b))\n"),
        0
    );
    assert!(syntax_errors("python", "x = math.sqrt((a * a) + (b * b)\n") > 0);
    assert!(syntax_errors("rust", "fn f() { let x = (1 + 2; }\n") > 0);
    assert!(syntax_errors("json", "{\"a\": [1, 2}\n") > 0);
}

/// UTF-16 (line, column) → byte offset in `text`.
fn offset(text: &str, position: &Value) -> usize {
    let line = position["line"].as_u64().unwrap() as usize;
    let column = position["character"].as_u64().unwrap() as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let rest = &text[start..];
    let mut units = 0;
    for (at, c) in rest.char_indices() {
        if units >= column || c == '\n' {
            return start + at;
        }
        units += c.len_utf16();
    }
    text.len()
}

fn apply(text: &str, range: &Value, new_text: &str) -> String {
    let start = offset(text, &range["start"]);
    let end = offset(text, &range["end"]);
    format!("{}{new_text}{}", &text[..start], &text[end..])
}

/// One server per method and kind, as an editor would run it.
fn accepted_over_stdio(cases: &[&Case], method: &str) -> Vec<(String, String, String)> {
    let fake = FakeProvider::start();
    let mut results = Vec::new();
    for case in cases {
        let env = TestEnv::new().with("CORPUS_KEY", "corpus-key");
        let mut client = LspClient::spawn(&env);
        client.initialize(json!({
            "cache": {"path": "off"},
            "provider": [{
                "name": "corpus", "kind": case.kind, "model": "corpus-model",
                "base_url": base_url(&case.kind, &fake), "api_key_env": "CORPUS_KEY",
                "status_page": ""
            }]
        }));
        let (text, _, expected) = case.prepared();
        let uri = format!(
            "file:///project/{}.{}",
            case.name,
            extension(&case.language)
        );
        client.open(&uri, &case.language, &text);
        fake.push(Reply::ok(&case.answer));
        let (line, character) = case.position();
        let accepted = if method == "inline" {
            let result = client.inline_completion(&uri, line, character);
            match result["items"].get(0) {
                Some(item) => apply(&text, &item["range"], item["insertText"].as_str().unwrap()),
                None => text.clone(),
            }
        } else {
            let result = client.completion(&uri, line, character);
            match result["items"].get(0) {
                Some(item) => {
                    assert_eq!(item["data"]["provider"], "corpus", "{}", case.id());
                    let edit = &item["textEdit"];
                    apply(&text, &edit["range"], edit["newText"].as_str().unwrap())
                }
                None => text.clone(),
            }
        };
        client.shutdown();
        results.push((case.id(), accepted, expected));
    }
    results
}

/// A sample: the first case of each file, and every CRLF and tab-indented case.
fn sample(cases: &[Case]) -> Vec<&Case> {
    let mut seen = std::collections::HashSet::new();
    cases
        .iter()
        .filter(|c| seen.insert(c.language.clone()) || c.crlf || c.document.contains("\n\t"))
        .take(16)
        .collect()
}

#[test]
fn a_sample_is_inserted_the_same_through_the_binary_for_both_methods() {
    let cases = corpus();
    let sample = sample(&cases);
    assert!(!sample.is_empty());
    for method in ["inline", "completion"] {
        let results = accepted_over_stdio(&sample, method);
        let wrong: Vec<String> = results
            .iter()
            .filter(|(_, got, expected)| got != expected)
            .map(|(id, got, expected)| {
                format!(
                    "{id} ({method}):\nexpected:\n{}\ngot:\n{}",
                    show(expected),
                    show(got)
                )
            })
            .collect();
        println!(
            "insertion corpus over stdio ({method}): {} of {} exact",
            results.len() - wrong.len(),
            results.len()
        );
        assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
    }
}
