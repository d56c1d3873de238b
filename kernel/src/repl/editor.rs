//! Line editing for the REPL: rustyline with the engine's completion and is-complete check.
//!
//! An incomplete cell (an open `fn f() {`) keeps the editor reading lines, indented as the
//! engine suggests; an invalid one is accepted so the engine reports the error. History is
//! persisted per user. Nothing here runs code.

use crate::engine::{char_to_byte, Completeness, Engine};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};
use std::path::PathBuf;
use std::sync::Arc;

pub struct EngineHelper {
    pub engine: Arc<dyn Engine>,
}

impl Completer for EngineHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let cursor = line[..pos].chars().count();
        let found = self.engine.complete(line, cursor);
        let start = char_to_byte(line, found.cursor_start);
        let pairs = found
            .matches
            .into_iter()
            .map(|m| Pair {
                display: m.clone(),
                replacement: m,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Validator for EngineHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(match self.engine.is_complete(ctx.input()) {
            Completeness::Incomplete(_) => ValidationResult::Incomplete,
            Completeness::Complete | Completeness::Invalid => ValidationResult::Valid(None),
        })
    }
}

impl Hinter for EngineHelper {
    type Hint = String;
}

impl Highlighter for EngineHelper {}

impl Helper for EngineHelper {}

/// Where the REPL keeps its history: `$FERROLAB_REPL_HISTORY`, else the user data dir.
pub fn history_path() -> PathBuf {
    if let Some(path) = std::env::var_os("FERROLAB_REPL_HISTORY") {
        return PathBuf::from(path);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(std::env::temp_dir);
    data.join("ferrolab").join("repl_history.txt")
}
