//! The engine: what runs a cell, behind one trait that every front end drives.
//!
//! The Jupyter kernel (and later the terminal REPL) call [`Engine`] with plain
//! arguments and receive [`Event`]s through a sink. The engine knows nothing of
//! sockets, signing, message ids, execution counts or history: those belong to
//! the front ends. Two engines implement it: [`evcxr_engine::EvcxrEngine`] (Rust
//! cells with the library, the real one) and [`mock::MockEngine`] (a tiny language
//! so protocol tests need no compiler).

pub mod arith;
mod build_cache;
pub mod cell;
pub mod commands;
pub mod diagnostic;
pub mod evcxr_engine;
mod evcxr_guard;
mod evcxr_worker;
mod interrupt;
pub mod lexical;
pub mod mock;
pub mod panic_report;
pub mod runtime_output;
pub mod setup;
pub mod warmup;

use serde_json::{Map, Value};

/// A MIME bundle: MIME type -> content (a string, or JSON for `application/json`).
pub type Bundle = Map<String, Value>;

/// Builds a bundle holding only `text/plain`.
pub fn plain(text: impl Into<String>) -> Bundle {
    let mut bundle = Bundle::new();
    bundle.insert("text/plain".into(), Value::String(text.into()));
    bundle
}

/// Something a running cell produced, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Text on a standard stream; `name` is `"stdout"` or `"stderr"`.
    Stream { name: String, text: String },
    /// A new display; `id` lets later [`Event::UpdateDisplay`]s replace it.
    Display { id: Option<String>, bundle: Bundle },
    /// Replaces the content of every earlier display with this `id`.
    UpdateDisplay { id: String, bundle: Bundle },
    /// The value of the cell's last expression.
    Result(Bundle),
    /// The cell failed; the execution stops after this event.
    Error {
        ename: String,
        evalue: String,
        traceback: Vec<String>,
    },
    /// Clears the cell's output; with `wait`, only when new output arrives.
    ClearOutput { wait: bool },
    /// Help to show in a pager: Jupyter gets it as the execute_reply's `page` payload
    /// (a panel beside the notebook), a terminal prints it.
    Page(Bundle),
}

impl Event {
    /// A stdout [`Event::Stream`].
    pub fn stdout(text: impl Into<String>) -> Self {
        Event::Stream {
            name: "stdout".into(),
            text: text.into(),
        }
    }

    /// A stderr [`Event::Stream`].
    pub fn stderr(text: impl Into<String>) -> Self {
        Event::Stream {
            name: "stderr".into(),
            text: text.into(),
        }
    }
}

/// Whether a piece of code is ready to run, as a front end asks before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    /// More input is needed; the string is the indent suggested for the next line.
    Incomplete(String),
    /// No continuation can make this valid (e.g. a closer that matches nothing).
    Invalid,
}

/// Completion candidates for the text between `cursor_start` and `cursor_end`.
///
/// Positions count Unicode scalar values (chars), as Jupyter 5.2+ does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completions {
    pub matches: Vec<String>,
    pub cursor_start: usize,
    pub cursor_end: usize,
}

/// The `language_info` part of `kernel_info`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LanguageInfo {
    pub name: String,
    pub version: String,
    pub mimetype: String,
    pub file_extension: String,
    pub pygments_lexer: String,
    pub codemirror_mode: String,
    pub nbconvert_exporter: String,
}

/// What the engine says about itself for `kernel_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineInfo {
    pub implementation: String,
    pub implementation_version: String,
    pub banner: String,
    pub language_info: LanguageInfo,
    /// `(text, url)` pairs shown in the front end's help menu.
    pub help_links: Vec<(String, String)>,
}

/// The hooks a front end drives. Every method takes `&self` so that
/// [`Engine::interrupt`] can be called from another thread (a control channel,
/// a signal handler) while [`Engine::execute`] is running; engines use interior
/// mutability for their state.
pub trait Engine: Send + Sync {
    /// Runs one cell, sending its events to `sink` as they happen. A failure is
    /// reported as an [`Event::Error`], after which the cell stops.
    fn execute(&self, code: &str, sink: &mut dyn FnMut(Event));

    /// Whether `code` is ready to run.
    fn is_complete(&self, code: &str) -> Completeness;

    /// Completion candidates at `cursor` (in chars).
    fn complete(&self, code: &str, cursor: usize) -> Completions;

    /// Documentation for the thing at `cursor` (in chars), if any.
    fn inspect(&self, code: &str, cursor: usize, detail_level: u8) -> Option<Bundle>;

    /// Asks the running cell, if any, to stop soon. Must not block.
    fn interrupt(&self);

    /// Describes the engine and its language.
    fn info(&self) -> EngineInfo;

    /// Releases resources; with `restart`, a fresh session will follow.
    fn shutdown(&self, restart: bool);
}

/// Rust's `language_info`, shared by every engine that runs Rust.
pub fn rust_language_info() -> LanguageInfo {
    LanguageInfo {
        name: "rust".into(),
        version: env!("CARGO_PKG_RUST_VERSION").into(),
        mimetype: "text/rust".into(),
        file_extension: ".rs".into(),
        pygments_lexer: "rust".into(),
        codemirror_mode: "rust".into(),
        nbconvert_exporter: "rust".into(),
    }
}

/// Runs a cell as every front end sees it: a help cell (`?name` or `:doc name`) shows the
/// engine's documentation for `name` as a [`Event::Page`]; anything else goes to
/// [`Engine::execute`]. (IPython's trailing `name?` is not offered: in Rust it is the `?`
/// operator.)
pub fn execute_cell(engine: &dyn Engine, code: &str, sink: &mut dyn FnMut(Event)) {
    let Some(topic) = help_topic(code) else {
        return engine.execute(code, sink);
    };
    match engine.inspect(topic, topic.chars().count(), 0) {
        Some(bundle) => sink(Event::Page(bundle)),
        None => sink(Event::Error {
            ename: "NoHelp".into(),
            evalue: format!("no documentation found for `{topic}`"),
            traceback: Vec::new(),
        }),
    }
}

/// The name a help cell asks about: `?name` or `:doc name`, one word (a path is fine).
fn help_topic(code: &str) -> Option<&str> {
    let code = code.trim();
    let topic = code
        .strip_prefix(":doc ")
        .or_else(|| code.strip_prefix('?'))?
        .trim();
    let word = |c: char| c == '_' || c == ':' || c.is_alphanumeric();
    (!topic.is_empty() && topic.chars().all(word)).then_some(topic)
}

/// Converts a char position to a byte offset in `s`, clamped to its length.
pub fn char_to_byte(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

/// The byte range of the word (identifier, path or `:command`) around `cursor` (in chars),
/// for `inspect`.
pub fn word_at(code: &str, cursor: usize) -> Option<std::ops::Range<usize>> {
    let at = char_to_byte(code, cursor);
    let is_word = |c: char| c == '_' || c == ':' || c.is_alphanumeric();
    let start = code[..at]
        .char_indices()
        .rfind(|&(_, c)| !is_word(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = code[at..].find(|c| !is_word(c)).map_or(code.len(), |i| at + i);
    (start <= end).then_some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_cells_name_one_topic() {
        assert_eq!(help_topic("?Cnn"), Some("Cnn"));
        assert_eq!(
            help_topic("  ? ferrolab::data::digits \n"),
            Some("ferrolab::data::digits")
        );
        assert_eq!(help_topic(":doc fit"), Some("fit"));
        assert_eq!(help_topic("x?"), None, "the ? operator stays Rust");
        assert_eq!(help_topic("?"), None);
        assert_eq!(help_topic("?a + b"), None);
        assert_eq!(help_topic(":docs"), None);
    }
}
