//! `MockEngine`: a tiny line-by-line language that exercises every [`Event`]
//! and hook, so protocol tests (and the kernel, until evcxr lands) need no
//! compiler.
//!
//! The language, one statement per line: integer arithmetic (`1 + 2 * (3 - 1)`,
//! `i64`, checked), `let NAME = EXPR`, a bare `NAME`, `print("text")`,
//! `eprint("text")`, `panic("message")`, `//` comments, and the `:` commands of
//! the registry plus the mock's own (`:display`, `:update`, `:clear`, `:sleep`,
//! `:touch`). The last line's value, if it is an expression, is the result.
//! It is not Rust and not meant to grow: anything richer belongs to evcxr.

use super::arith::{self, EvalError};
use super::commands::{text_and_html, CommandError, CommandRegistry};
use super::{
    char_to_byte, lexical, plain, rust_language_info, word_at, Bundle, Completeness, Completions, Engine,
    EngineInfo, Event,
};
use crate::sync::lock;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The builtins the language knows, with the text `inspect` shows for them.
const BUILTINS: &[(&str, &str)] = &[
    ("print", "print(\"text\"): write text and a newline to stdout"),
    ("eprint", "eprint(\"text\"): write text and a newline to stderr"),
    ("panic", "panic(\"message\"): fail the cell with a `panic` error"),
];

pub struct MockEngine {
    commands: CommandRegistry,
    variables: Mutex<BTreeMap<String, i64>>,
    interrupted: Arc<AtomicBool>,
}

impl Default for MockEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl MockEngine {
    pub fn new() -> Self {
        let interrupted = Arc::new(AtomicBool::new(false));
        let mut commands = CommandRegistry::standard();
        register_mock_commands(&mut commands, interrupted.clone());
        Self {
            commands,
            variables: Mutex::new(BTreeMap::new()),
            interrupted,
        }
    }

    /// Runs one statement; `Ok(Some(v))` when it is an expression with value `v`.
    fn statement(&self, line: &str, sink: &mut dyn FnMut(Event)) -> Result<Option<i64>, Event> {
        if let Some(text) = call_arg(line, "print") {
            sink(Event::stdout(format!("{text}\n")));
            return Ok(None);
        }
        if let Some(text) = call_arg(line, "eprint") {
            sink(Event::stderr(format!("{text}\n")));
            return Ok(None);
        }
        if let Some(text) = call_arg(line, "panic") {
            return Err(error("panic", &text));
        }
        let vars = lock(&self.variables).clone();
        if let Some(rest) = line.strip_prefix("let ") {
            let (name, expr) = rest
                .split_once('=')
                .ok_or_else(|| error("SyntaxError", "expected `let NAME = EXPR`"))?;
            let name = name.trim();
            if !is_ident(name) {
                return Err(error("SyntaxError", &format!("`{name}` is not a name")));
            }
            let value = arith::eval(expr, &vars).map_err(from_eval)?;
            self.variables
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.to_string(), value);
            return Ok(None);
        }
        arith::eval(line, &vars).map(Some).map_err(from_eval)
    }
}

impl Engine for MockEngine {
    fn execute(&self, code: &str, sink: &mut dyn FnMut(Event)) {
        self.interrupted.store(false, Ordering::SeqCst);
        let mut last = None;
        for line in code.lines().map(str::trim) {
            last = None;
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            if line.starts_with(':') {
                if self.commands.run(line, sink).is_err() {
                    return;
                }
                continue;
            }
            match self.statement(line, sink) {
                Ok(value) => last = value,
                Err(event) => {
                    sink(event);
                    return;
                }
            }
        }
        if let Some(value) = last {
            sink(Event::Result(plain(value.to_string())));
        }
    }

    fn is_complete(&self, code: &str) -> Completeness {
        if code.trim_start().starts_with(':') {
            return Completeness::Complete;
        }
        lexical::is_complete(code)
    }

    fn complete(&self, code: &str, cursor: usize) -> Completions {
        let end = char_to_byte(code, cursor);
        let before = &code[..end];
        let start = before
            .rfind(|c: char| !(c == '_' || c == ':' || c.is_alphanumeric()))
            .map_or(0, |i| i + before[i..].chars().next().map_or(1, char::len_utf8));
        let prefix = &before[start..];
        let mut candidates: Vec<String> = if prefix.starts_with(':') {
            self.commands.names()
        } else {
            let vars = lock(&self.variables);
            BUILTINS
                .iter()
                .map(|(name, _)| name.to_string())
                .chain(["let".to_string()])
                .chain(vars.keys().cloned())
                .collect()
        };
        candidates.retain(|c| c.starts_with(prefix));
        candidates.sort();
        candidates.dedup();
        Completions {
            matches: candidates,
            cursor_start: code[..start].chars().count(),
            cursor_end: cursor.min(code.chars().count()),
        }
    }

    fn inspect(&self, code: &str, cursor: usize, _detail_level: u8) -> Option<Bundle> {
        let range = word_at(code, cursor)?;
        let word = &code[range];
        if let Some(name) = word.strip_prefix(':') {
            return self.commands.help_for(name).map(plain);
        }
        if let Some((_, doc)) = BUILTINS.iter().find(|(name, _)| *name == word) {
            return Some(plain(*doc));
        }
        let vars = lock(&self.variables);
        vars.get(word).map(|v| plain(format!("{word}: i64 = {v}")))
    }

    fn interrupt(&self) {
        self.interrupted.store(true, Ordering::SeqCst);
    }

    fn info(&self) -> EngineInfo {
        EngineInfo {
            implementation: "ferrolab".into(),
            implementation_version: env!("CARGO_PKG_VERSION").into(),
            banner: format!(
                "ferrolab {} (mock engine: integer arithmetic and `:` commands; `:help`)",
                env!("CARGO_PKG_VERSION")
            ),
            language_info: rust_language_info(),
            help_links: vec![],
        }
    }

    fn shutdown(&self, _restart: bool) {
        self.interrupt();
        lock(&self.variables).clear();
    }
}

fn register_mock_commands(commands: &mut CommandRegistry, interrupted: Arc<AtomicBool>) {
    commands.register(
        "display",
        "[#ID] TEXT",
        "Show TEXT as text/plain and text/html, with an optional display id",
        Box::new(|args, sink| {
            let (id, text) = split_id(args);
            sink(Event::Display {
                id,
                bundle: text_and_html(text),
            });
            Ok(())
        }),
    );
    commands.register(
        "update",
        "#ID TEXT",
        "Replace the display with that id by TEXT",
        Box::new(|args, sink| {
            let (id, text) = split_id(args);
            let id = id.ok_or_else(|| CommandError::new("usage: :update #ID TEXT"))?;
            sink(Event::UpdateDisplay {
                id,
                bundle: text_and_html(text),
            });
            Ok(())
        }),
    );
    commands.register(
        "clear",
        "[wait]",
        "Clear the cell's output (with `wait`, when new output arrives)",
        Box::new(|args, sink| {
            sink(Event::ClearOutput { wait: args == "wait" });
            Ok(())
        }),
    );
    commands.register(
        "sleep",
        "SECONDS",
        "Wait, stopping early when interrupted",
        Box::new(move |args, _| {
            let seconds: f64 = args
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| CommandError::new("usage: :sleep SECONDS"))?;
            let deadline = Instant::now() + Duration::from_secs_f64(seconds.min(86_400.0));
            while Instant::now() < deadline {
                if interrupted.load(Ordering::SeqCst) {
                    return Err(CommandError::new("interrupted"));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(())
        }),
    );
    commands.register(
        "touch",
        "PATH",
        "Create an empty file (used by the protocol tests)",
        Box::new(|args, _| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(args)
                .map(drop)
                .map_err(|e| CommandError::new(format!("{args}: {e}")))
        }),
    );
}

/// Splits `#id rest` into `(Some(id), rest)`, or `(None, args)`.
fn split_id(args: &str) -> (Option<String>, &str) {
    match args.strip_prefix('#') {
        Some(rest) => {
            let (id, text) = rest.split_once(' ').unwrap_or((rest, ""));
            (Some(id.to_string()), text)
        }
        None => (None, args),
    }
}

/// The string argument of `name("...")`, if `line` is such a call.
fn call_arg(line: &str, name: &str) -> Option<String> {
    let inner = line
        .strip_prefix(name)?
        .trim_start()
        .strip_prefix('(')?
        .trim_end()
        .trim_end_matches(';')
        .strip_suffix(')')?
        .trim();
    let body = inner.strip_prefix('"')?.strip_suffix('"')?;
    Some(body.replace("\\n", "\n").replace("\\\"", "\""))
}

pub(crate) fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn from_eval(e: EvalError) -> Event {
    error(e.ename, &e.evalue)
}

fn error(ename: &str, evalue: &str) -> Event {
    Event::Error {
        ename: ename.into(),
        evalue: evalue.into(),
        traceback: vec![format!("{ename}: {evalue}"), "  at line 1 of the cell".into()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(engine: &MockEngine, code: &str) -> Vec<Event> {
        let mut events = Vec::new();
        engine.execute(code, &mut |e| events.push(e));
        events
    }

    #[test]
    fn arithmetic_and_variables() {
        let engine = MockEngine::new();
        assert_eq!(run(&engine, "1+1"), vec![Event::Result(plain("2"))]);
        assert_eq!(
            run(&engine, "let x = 2 * (3 + 4)\nx % 5 - -1"),
            vec![Event::Result(plain("5"))]
        );
        assert!(matches!(&run(&engine, "1/0")[0], Event::Error { ename, .. } if ename == "ArithmeticError"));
        assert!(matches!(&run(&engine, "y")[0], Event::Error { ename, .. } if ename == "NameError"));
    }

    #[test]
    fn streams_and_errors_stop_the_cell() {
        let engine = MockEngine::new();
        let events = run(
            &engine,
            "print(\"a\")\neprint(\"b\")\npanic(\"boom\")\nprint(\"never\")",
        );
        assert_eq!(events[0], Event::stdout("a\n"));
        assert_eq!(events[1], Event::stderr("b\n"));
        assert!(matches!(&events[2], Event::Error { evalue, .. } if evalue == "boom"));
        assert_eq!(events.len(), 3);
    }

    #[test]
    fn completion_and_inspection() {
        let engine = MockEngine::new();
        run(&engine, "let prize = 3");
        let c = engine.complete("1 + pr", 6);
        assert_eq!(c.matches, vec!["print", "prize"]);
        assert_eq!((c.cursor_start, c.cursor_end), (4, 6));
        let c = engine.complete(":ver", 4);
        assert_eq!(c.matches, vec![":version"]);
        assert_eq!(c.cursor_start, 0);
        assert!(engine.inspect("print(\"x\")", 2, 0).is_some());
        assert_eq!(engine.inspect("prize", 5, 0), Some(plain("prize: i64 = 3")));
        assert_eq!(engine.inspect("zzz", 1, 0), None);
        // A multi-byte separator before the word.
        assert!(engine.inspect("→print", 3, 0).is_some());
    }

    #[test]
    fn sleep_stops_on_interrupt() {
        let engine = Arc::new(MockEngine::new());
        let other = engine.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            other.interrupt();
        });
        let start = Instant::now();
        let events = run(&engine, ":sleep 30");
        t.join().unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(matches!(&events[0], Event::Error { evalue, .. } if evalue == "interrupted"));
    }
}
