//! `EvcxrEngine`: the Rust engine. `:` commands run natively at once; Rust code and
//! evcxr's own commands go to evcxr, with the ferrolab library as a path dependency
//! and `use ferrolab::prelude::*;` in scope.
//!
//! evcxr starts in the background (see `evcxr_worker`), so `kernel_info` and native
//! commands never wait for it; the first Rust cell does. Interrupts try to keep state:
//! SIGINT to the runtime (the library's training loop stops at the next batch), or
//! to a running build; only if the cell is still running after a grace period is
//! the runtime killed, and the error then names the variables that were lost.
//! Limits: a cell mixing native and evcxr commands runs its leading native lines
//! natively and hands the rest to evcxr as one block.

use super::commands::{CommandError, CommandRegistry};
pub use super::evcxr_worker::Status;
use super::evcxr_worker::{self, Out, Request, Shared};
use super::{
    char_to_byte, lexical, plain, rust_language_info, word_at, Bundle, Completeness, Completions, Engine,
    EngineInfo, Event,
};
use crate::sync::lock;
use crossbeam_channel::Sender;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// evcxr's commands we pass through: name, argument synopsis, help.
const EVCXR_COMMANDS: &[(&str, &str, &str)] = &[
    (
        "dep",
        "NAME [= SPEC]",
        "Add a crate dependency, e.g. :dep itoa = \"1\" (evcxr)",
    ),
    ("vars", "", "List variables and their types (evcxr)"),
    ("type", "VAR", "Show a variable's type (evcxr; also :t)"),
    ("t", "VAR", "Short for :type (evcxr)"),
    (
        "opt",
        "[LEVEL]",
        "Set the optimisation level of cells and the library, 0-3 (default 3; a change rebuilds the library once) (evcxr)",
    ),
    ("timing", "", "Toggle printing how long each cell takes (evcxr)"),
    (
        "clear",
        "",
        "Clear all variables and items, keeping the build cache (evcxr)",
    ),
    (
        "restart",
        "",
        "Restart the runtime process; variables are lost (evcxr)",
    ),
    ("show_deps", "", "Show the current dependencies (evcxr)"),
    ("explain", "", "Explain the last compile error (evcxr)"),
    ("fmt", "FORMAT", "Set the result formatter, default {:?} (evcxr)"),
    ("types", "", "Toggle printing result types (evcxr)"),
    (
        "efmt",
        "FORMAT",
        "Set the formatter for errors returned by ? (evcxr)",
    ),
    ("offline", "0|1", "Run cargo offline (evcxr)"),
    (
        "preserve_vars_on_panic",
        "0|1",
        "Try to keep variables when a cell panics (evcxr)",
    ),
    (
        "last_compile_dir",
        "",
        "Print the directory cells are compiled in (evcxr)",
    ),
    ("cache", "MIB", "Set evcxr's build cache size, 0 disables (evcxr)"),
    ("clear_cache", "", "Clear evcxr's build cache (evcxr)"),
    (
        "linker",
        "[NAME]",
        "Set or print the linker: system, lld, mold (evcxr)",
    ),
];

/// Default seconds between the SIGINT and killing the runtime.
const DEFAULT_GRACE_SECS: f64 = 3.0;

/// How long completion and inspection wait for rust-analyzer.
const ANALYSIS_TIMEOUT: Duration = Duration::from_secs(10);

/// How long completion and inspection wait for the engine to start: under the 15 s a
/// client such as jupyter_kernel_test allows a request, with rust-analyzer's time.
const START_WAIT: Duration = Duration::from_secs(12);

/// The display id of the "Waiting for the Rust engine" note.
const STARTING_NOTE_ID: &str = "ferrolab-engine-starting";

pub struct EvcxrEngine {
    commands: CommandRegistry,
    shared: Arc<Shared>,
    requests: Sender<Request>,
    /// Interrupt grace in milliseconds (an atomic so `:interrupt_grace` can set it).
    grace_ms: Arc<AtomicU64>,
    /// The library was not built in the build dir when the engine started: the first cell
    /// waits for that build.
    cold: bool,
    /// The library's source and the build dir cells compile in.
    library: PathBuf,
    build_dir: PathBuf,
}

impl EvcxrEngine {
    /// Starts evcxr in the background with `library` as a path dependency. The
    /// environment (build dir, profile overrides) must already be set: [`Self::launch`]
    /// sets it and is the way in.
    fn start(library: PathBuf, build_dir: PathBuf) -> Self {
        let cold = !super::warmup::is_built(&build_dir);
        let shared = Arc::new(Shared::new());
        let (requests, rx) = crossbeam_channel::unbounded();
        evcxr_worker::spawn(library.clone(), shared.clone(), rx);
        let grace_secs = std::env::var("FERROLAB_INTERRUPT_GRACE")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(DEFAULT_GRACE_SECS);
        let grace_ms = Arc::new(AtomicU64::new((grace_secs * 1000.0) as u64));
        let mut commands = CommandRegistry::standard();
        register_native(
            &mut commands,
            &shared,
            &grace_ms,
            library.clone(),
            build_dir.clone(),
        );
        for (name, args, help) in EVCXR_COMMANDS {
            // Listed for :help and completion; `execute` routes them to evcxr.
            commands.register(name, args, help, Box::new(|_, _| Ok(())));
        }
        Self {
            commands,
            shared,
            requests,
            grace_ms,
            cold,
            library,
            build_dir,
        }
    }

    /// Prepares what evcxr reads (`setup::prepare`: its environment and a build slot) and
    /// starts the engine, holding the slot's lock for the rest of the process. Call it before
    /// any other thread starts: it sets environment variables.
    pub fn launch() -> anyhow::Result<Self> {
        let prepared = super::setup::prepare()?;
        let engine = Self::start(prepared.library, prepared.slot.dir.clone());
        std::mem::forget(prepared.slot);
        Ok(engine)
    }

    /// The library's source directory.
    pub fn library(&self) -> &std::path::Path {
        &self.library
    }

    /// The build dir cells compile in.
    pub fn build_dir(&self) -> &std::path::Path {
        &self.build_dir
    }

    /// Whether the library was not yet built for cells when the engine started, so that
    /// start-up includes that build (minutes, not seconds).
    pub fn started_cold(&self) -> bool {
        self.cold
    }

    /// Where start-up stands.
    pub fn status(&self) -> Status {
        lock(&self.shared.status).clone()
    }

    /// Whether a `:` line is run natively (not by evcxr).
    fn is_native(line: &str) -> bool {
        let name = command_name(line);
        !EVCXR_COMMANDS.iter().any(|(n, _, _)| *n == name)
    }

    fn run_in_evcxr(&self, code: &str, line_offset: usize, sink: &mut dyn FnMut(Event)) {
        // A note while the engine starts, shown as a display the cell's output replaces, so
        // it is not saved into the notebook.
        let mut note = false;
        if *lock(&self.shared.status) == Status::Starting {
            note = true;
            sink(Event::Display {
                id: Some(STARTING_NOTE_ID.into()),
                bundle: plain(if self.cold {
                    "Waiting for the Rust engine to start (the first start on a machine builds the \
                     library, a minute or more; `ferrolab warmup` does it ahead)..."
                } else {
                    "Waiting for the Rust engine to start (seconds)..."
                }),
            });
        }
        let (out, events) = crossbeam_channel::unbounded();
        let request = Request::Execute {
            code: code.to_string(),
            line_offset,
            out,
        };
        if self.requests.send(request).is_err() {
            sink(engine_gone());
            return;
        }
        loop {
            match events.recv() {
                Ok(Out::Started) if note => sink(Event::ClearOutput { wait: false }),
                Ok(Out::Started) => {}
                Ok(Out::Event(event)) => sink(event),
                Ok(Out::Done) => return,
                Err(_) => {
                    sink(engine_gone());
                    return;
                }
            }
        }
    }

    /// Asks the worker something, waiting (bounded) for start-up first as a cell does;
    /// `None` when the engine is not ready in time or gives no answer.
    fn ask<T>(&self, make: impl FnOnce(Sender<T>) -> Request) -> Option<T> {
        if !self.wait_ready(START_WAIT) {
            return None;
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.requests.send(make(tx)).ok()?;
        rx.recv_timeout(ANALYSIS_TIMEOUT).ok()
    }

    /// Waits up to `limit` for start-up to finish; whether the engine is ready.
    fn wait_ready(&self, limit: Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        loop {
            match &*lock(&self.shared.status) {
                Status::Ready => return true,
                Status::Failed(_) => return false,
                Status::Starting => {}
            }
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
fn engine_gone() -> Event {
    Event::Error {
        ename: "EngineError".into(),
        evalue: "the Rust engine thread has stopped; restart the kernel".into(),
        traceback: vec!["EngineError: the Rust engine thread has stopped".into()],
    }
}

fn command_name(line: &str) -> &str {
    let line = line.trim().trim_start_matches(':');
    line.split_whitespace().next().unwrap_or("")
}

impl Engine for EvcxrEngine {
    fn execute(&self, code: &str, sink: &mut dyn FnMut(Event)) {
        let mut rest = code;
        let mut line_offset = 0;
        // Leading native command lines run here, without evcxr.
        while !rest.is_empty() {
            let (line, tail) = rest.split_once('\n').unwrap_or((rest, ""));
            let trimmed = line.trim();
            if trimmed.is_empty() {
                rest = tail;
                line_offset += 1;
                continue;
            }
            if !trimmed.starts_with(':') || !Self::is_native(trimmed) {
                break;
            }
            if self.commands.run(trimmed, sink).is_err() {
                return;
            }
            rest = tail;
            line_offset += 1;
        }
        if !rest.trim().is_empty() {
            self.run_in_evcxr(rest, line_offset, sink);
        }
    }

    fn is_complete(&self, code: &str) -> Completeness {
        if code.trim_start().starts_with(':') && !code.contains('\n') {
            return Completeness::Complete;
        }
        lexical::is_complete(code)
    }

    fn complete(&self, code: &str, cursor: usize) -> Completions {
        let end = char_to_byte(code, cursor);
        let line_start = code[..end].rfind('\n').map_or(0, |i| i + 1);
        let line = &code[line_start..end];
        if line.starts_with(':') && !line.contains(char::is_whitespace) {
            let mut matches = self.commands.names();
            matches.retain(|m| m.starts_with(line));
            return Completions {
                matches,
                cursor_start: code[..line_start].chars().count(),
                cursor_end: cursor,
            };
        }
        let byte_pos = end;
        let found = self.ask(|reply| Request::Complete {
            code: code.to_string(),
            byte_pos,
            reply,
        });
        if let Some(Some(ra)) = found {
            let clamp = |b: usize| {
                code.get(..b.min(code.len()))
                    .map_or(cursor, |s| s.chars().count())
            };
            let matches = rank_completions(ra.matches);
            return Completions {
                matches,
                cursor_start: clamp(ra.start),
                cursor_end: clamp(ra.end),
            };
        }
        // Not ready (or rust-analyzer failed): offer variable names.
        let word_start = code[..end]
            .rfind(|c: char| !(c == '_' || c.is_alphanumeric()))
            .map_or(0, |i| i + 1);
        let prefix = &code[word_start..end];
        let matches = lock(&self.shared.vars)
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| n.starts_with(prefix))
            .collect();
        Completions {
            matches,
            cursor_start: code[..word_start].chars().count(),
            cursor_end: cursor,
        }
    }

    fn inspect(&self, code: &str, cursor: usize, _detail_level: u8) -> Option<Bundle> {
        let range = word_at(code, cursor)?;
        let (end, word) = (range.end, &code[range]);
        if let Some(name) = word.strip_prefix(':') {
            return self.commands.help_for(name).map(plain);
        }
        let var = lock(&self.shared.vars)
            .iter()
            .find(|(n, _)| n == word)
            .map(|(n, t)| format!("{n}: {t}"));
        let asked = self.ask(|reply| Request::Hover {
            code: code[..end].to_string(),
            byte_pos: end,
            reply,
        });
        if var.is_none() && asked.is_none() {
            // Not ready in time: say so, rather than "nothing found".
            return Some(plain(
                "The Rust engine is still starting or loading its analysis of the library; \
                 documentation is available in a few seconds (`:status` says where it stands).",
            ));
        }
        let hover = asked
            .flatten()
            .filter(|(text, _)| !text.trim().is_empty() && text != "No documentation found");
        match (var, hover) {
            (None, None) => None,
            (Some(var), None) => Some(plain(var)),
            (var, Some((text, html))) => {
                let text = var.map_or(text.clone(), |v| format!("{v}\n\n{text}"));
                let mut bundle = plain(text);
                bundle.insert("text/html".into(), Value::String(html));
                Some(bundle)
            }
        }
    }

    fn interrupt(&self) {
        let Some(cell) = *lock(&self.shared.running) else {
            return;
        };
        let Some(runtime) = lock(&self.shared.runtime).clone() else {
            return;
        };
        self.shared.interrupted.store(true, Ordering::SeqCst);
        let grace = Duration::from_millis(self.grace_ms.load(Ordering::SeqCst));
        let shared = self.shared.clone();
        // The escalation waits, and interrupt must not block: its own thread.
        let _ = std::thread::Builder::new()
            .name("interrupt".into())
            .spawn(move || super::interrupt::escalate(&shared, &runtime, cell, grace));
    }

    fn info(&self) -> EngineInfo {
        EngineInfo {
            implementation: "ferrolab".into(),
            implementation_version: env!("CARGO_PKG_VERSION").into(),
            banner: format!(
                "ferrolab {}: Rust cells through evcxr with `use ferrolab::prelude::*;` in scope. `:help` lists the commands.",
                env!("CARGO_PKG_VERSION")
            ),
            language_info: rust_language_info(),
            help_links: vec![(
                "evcxr".into(),
                "https://github.com/evcxr/evcxr/blob/main/COMMON.md".into(),
            )],
        }
    }

    fn shutdown(&self, _restart: bool) {
        // The runtime would exit when our pipes close; kill it now so a restart
        // does not overlap two runtimes. A build in progress goes with it.
        if let Some(runtime) = lock(&self.shared.runtime).clone() {
            let _ = lock(&runtime).kill();
        }
        super::interrupt::kill_descendants();
    }
}

/// Methods every type has through blanket impls, which would crowd out the type's own.
const BLANKET_NOISE: &[&str] = &[
    "into",
    "try_into",
    "from",
    "try_from",
    "borrow",
    "borrow_mut",
    "type_id",
    "to_owned",
    "clone_into",
    "to_string",
    "as_any",
    "vzip",
    "into_either",
    "into_any",
    "equivalent",
    "fmt",
    "eq",
    "ne",
    "clone",
    "clone_from",
    "hash",
    "partial_cmp",
    "cmp",
    "max",
    "min",
    "clamp",
];

/// rust-analyzer's candidates for a learner: the type's own items (in rust-analyzer's order,
/// fields then methods), without blanket-trait methods, the display plumbing
/// (`evcxr_display`, listed once per trait) or internal names (`__x`, `_private`), each
/// entry once.
fn rank_completions(matches: Vec<String>) -> Vec<String> {
    let name = |m: &str| m.split(['(', '<', ' ', '!']).next().unwrap_or(m).to_string();
    let mut seen = std::collections::HashSet::new();
    matches
        .into_iter()
        .filter(|m| {
            let n = name(m);
            !n.starts_with('_')
                && !n.starts_with("evcxr")
                && !BLANKET_NOISE.contains(&n.as_str())
                && seen.insert(m.clone())
        })
        .collect()
}

fn register_native(
    commands: &mut CommandRegistry,
    shared: &Arc<Shared>,
    grace_ms: &Arc<AtomicU64>,
    library: PathBuf,
    build_dir: PathBuf,
) {
    let status_shared = shared.clone();
    commands.register(
        "status",
        "",
        "Show whether the Rust engine is ready, its library and build dir",
        Box::new(move |_, sink| {
            let status = match &*lock(&status_shared.status) {
                Status::Starting => "starting (building the library on first use)".to_string(),
                Status::Ready => match *lock(&status_shared.started_in) {
                    Some(secs) => format!("ready (started in {secs:.1} s)"),
                    None => "ready".to_string(),
                },
                Status::Failed(e) => format!("failed to start:\n{e}"),
            };
            let text = format!(
                "engine: {status}\nlibrary: {}\nbuild dir: {}\nvariables: {}",
                library.display(),
                build_dir.display(),
                lock(&status_shared.vars).len()
            );
            sink(Event::Result(plain(text)));
            Ok(())
        }),
    );
    let panic_shared = shared.clone();
    commands.register(
        "backtrace",
        "",
        "Show every frame of the last panic's backtrace",
        Box::new(move |_, sink| match lock(&panic_shared.last_backtrace).clone() {
            Some(backtrace) => {
                sink(Event::Result(plain(backtrace)));
                Ok(())
            }
            None => Err(CommandError::new("no cell has panicked in this session")),
        }),
    );
    commands.register(
        "clear_output",
        "",
        "Clear this cell's output so far",
        Box::new(|_, sink| {
            sink(Event::ClearOutput { wait: false });
            Ok(())
        }),
    );
    let grace = grace_ms.clone();
    commands.register(
        "interrupt_grace",
        "[SECONDS]",
        "Show or set how long an interrupted cell may take to stop before its runtime is killed",
        Box::new(move |args, sink| {
            if !args.is_empty() {
                let secs: f64 = args
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                    .ok_or_else(|| CommandError::new("usage: :interrupt_grace SECONDS"))?;
                grace.store((secs * 1000.0) as u64, Ordering::SeqCst);
            }
            let secs = grace.load(Ordering::SeqCst) as f64 / 1000.0;
            sink(Event::Result(plain(format!("interrupt grace: {secs} s"))));
            Ok(())
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_keep_the_types_own_items_once() {
        let ra = [
            "epochs",
            "train_loss",
            "try_into()",
            "into()",
            "epochs()",
            "evcxr_display()",
            "evcxr_display()",
            "__private_field",
            "borrow()",
            "best_epoch()",
        ];
        let ranked = rank_completions(ra.iter().map(|s| s.to_string()).collect());
        // A field and a method of one name are two items; a repeated entry is one.
        assert_eq!(ranked, ["epochs", "train_loss", "epochs()", "best_epoch()"]);
    }
}
