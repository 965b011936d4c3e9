//! Code actions on our status diagnostics: `Retry <name> now`, `Disable <name> for
//! this session`, `Enable <name>`, `Open <name> status page` — each only where it
//! applies.

use serde_json::Value;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, Command, Diagnostic, NumberOrString,
};

use super::commands;
use crate::engine::Runtime;

fn action(
    title: String,
    command: &str,
    provider: Option<&str>,
    diagnostic: &Diagnostic,
) -> CodeActionOrCommand {
    let arguments = provider.map(|p| vec![Value::String(p.to_string())]);
    CodeActionOrCommand::CodeAction(CodeAction {
        title: title.clone(),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![diagnostic.clone()]),
        command: Some(Command {
            title,
            command: command.to_string(),
            arguments,
        }),
        ..Default::default()
    })
}

pub fn for_diagnostics(runtime: &Runtime, diagnostics: &[Diagnostic]) -> Vec<CodeActionOrCommand> {
    let mut out: Vec<CodeActionOrCommand> = Vec::new();
    let mut push = |candidate: CodeActionOrCommand| {
        let title = |a: &CodeActionOrCommand| match a {
            CodeActionOrCommand::CodeAction(a) => a.title.clone(),
            CodeActionOrCommand::Command(c) => c.title.clone(),
        };
        if !out.iter().any(|a| title(a) == title(&candidate)) {
            out.push(candidate);
        }
    };
    for diagnostic in diagnostics {
        let code = match &diagnostic.code {
            Some(NumberOrString::String(code)) => code.as_str(),
            _ => continue,
        };
        let provider = diagnostic
            .data
            .as_ref()
            .and_then(|d| d.get("provider"))
            .and_then(Value::as_str)
            .filter(|p| runtime.config.provider(p).is_some());
        let status_page = provider
            .and_then(|p| runtime.config.provider(p))
            .and_then(|p| p.status_page.as_deref())
            .is_some();
        match (code, provider) {
            ("all-down", _) => push(action(
                "Retry all providers now".into(),
                commands::RETRY,
                None,
                diagnostic,
            )),
            (_, None) => {}
            (code, Some(name)) => {
                if matches!(
                    code,
                    "provider-down" | "provider-degraded" | "provider-disabled" | "auth-error"
                ) {
                    push(action(
                        format!("Retry {name} now"),
                        commands::RETRY,
                        Some(name),
                        diagnostic,
                    ));
                }
                if code == "provider-disabled" {
                    push(action(
                        format!("Enable {name}"),
                        commands::ENABLE,
                        Some(name),
                        diagnostic,
                    ));
                }
                if matches!(code, "provider-down" | "provider-degraded" | "status-page") {
                    push(action(
                        format!("Disable {name} for this session"),
                        commands::DISABLE,
                        Some(name),
                        diagnostic,
                    ));
                }
                if status_page
                    && matches!(code, "provider-down" | "provider-degraded" | "status-page")
                {
                    push(action(
                        format!("Open {name} status page"),
                        commands::OPEN_STATUS_PAGE,
                        Some(name),
                        diagnostic,
                    ));
                }
            }
        }
    }
    out
}
