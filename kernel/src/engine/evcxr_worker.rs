//! The thread that owns evcxr's `CommandContext`, and the thread that turns the
//! runtime's output into [`Event`]s.
//!
//! evcxr's context is `&mut` and not meant to be shared, so one worker thread
//! builds it (in the background, at start) and serves requests from a channel in
//! order; a cell that arrives during start-up simply waits in the queue. The
//! runtime's stdout and stderr lines arrive on evcxr's channels; a forwarder thread
//! splits display markers from plain text and sends both to the running cell. The
//! worker knows nothing of Jupyter; interrupt policy lives in `evcxr_engine`.

use super::diagnostic::{self, Diagnostic, Label};
use super::evcxr_guard::guarded;
use super::panic_report::{CellSource, Panic};
use super::runtime_output::{CONTENT_PREFIX, STDERR_PREFIX};
use super::setup::{OPT_LEVEL, PROFILE_ENV};
use super::{Bundle, Event};
use crate::sync::lock;
use crossbeam_channel::{select, Receiver, Sender};
use evcxr::{CommandContext, EvalContext, EvalContextOutputs};
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a stream line waits to be sent with the lines after it.
const STREAM_BATCH: Duration = Duration::from_millis(50);

/// What a cell's event stream carries: `Started` when the worker takes the cell, events,
/// then exactly one `Done`.
pub enum Out {
    Started,
    Event(Event),
    Done,
}

/// Work for the worker thread, served in order.
pub enum Request {
    Execute {
        code: String,
        /// Lines of the cell before `code` (native commands run by the engine).
        line_offset: usize,
        out: Sender<Out>,
    },
    Complete {
        code: String,
        byte_pos: usize,
        reply: Sender<Option<RaCompletions>>,
    },
    Hover {
        code: String,
        byte_pos: usize,
        reply: Sender<Option<(String, String)>>,
    },
}

/// rust-analyzer's candidates with the byte range they replace.
pub struct RaCompletions {
    pub matches: Vec<String>,
    pub start: usize,
    pub end: usize,
}

/// Where the engine stands in starting evcxr.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Starting,
    Ready,
    Failed(String),
}

/// State the worker shares with the engine (and its interrupt thread).
pub struct Shared {
    pub status: Mutex<Status>,
    /// Variable name -> type, as of the last finished cell.
    pub vars: Mutex<Vec<(String, String)>>,
    /// The runtime child; the Arc stays the same across evcxr's restarts.
    pub runtime: Mutex<Option<Arc<Mutex<Child>>>>,
    /// Number of the cell now running in evcxr, if any.
    pub running: Mutex<Option<u64>>,
    /// Set by an interrupt of the running cell; cleared when a cell starts.
    pub interrupted: AtomicBool,
    /// Set when the interrupt escalated to killing the runtime.
    pub killed: AtomicBool,
    /// The running cell's event stream, for the forwarder.
    current: Mutex<Option<Sender<Out>>>,
    /// Seconds start-up took, once it is done.
    pub started_in: Mutex<Option<f64>>,
    /// The last panic's full backtrace, for `:backtrace`.
    pub last_backtrace: Mutex<Option<String>>,
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    pub fn new() -> Self {
        Self {
            status: Mutex::new(Status::Starting),
            vars: Mutex::new(Vec::new()),
            runtime: Mutex::new(None),
            running: Mutex::new(None),
            interrupted: AtomicBool::new(false),
            killed: AtomicBool::new(false),
            current: Mutex::new(None),
            started_in: Mutex::new(None),
            last_backtrace: Mutex::new(None),
        }
    }
}

/// Tells the forwarder where the cells of a request stand.
enum Finish {
    /// One part of the request finished: flush its output, then these events.
    Cell(CellEnd),
    /// The request is over: send `Done`.
    Done,
}

struct CellEnd {
    events: Vec<Event>,
    ok: bool,
    /// The code evcxr ran and how many cell lines preceded it, to place a panic.
    code: String,
    line_offset: usize,
}

/// One piece of a request that evcxr runs as a cell.
struct CellRun<'a> {
    number: u64,
    code: &'a str,
    line_offset: usize,
}

/// Spawns the worker; it starts evcxr with `library` as a dependency, then serves `requests`.
pub fn spawn(library: PathBuf, shared: Arc<Shared>, requests: Receiver<Request>) {
    let spawned = std::thread::Builder::new()
        .name("evcxr".into())
        .spawn(move || run(library, shared, requests));
    if let Err(e) = spawned {
        elog!("ferrolab: cannot start the evcxr thread: {e}");
    }
}

fn run(library: PathBuf, shared: Arc<Shared>, requests: Receiver<Request>) {
    let started = Instant::now();
    let (mut ctx, mut finish_tx) = match open(&library, &shared) {
        Ok(opened) => {
            *lock(&shared.status) = Status::Ready;
            opened
        }
        Err(message) => {
            *lock(&shared.status) = Status::Failed(message.clone());
            serve_failed(&message, &requests);
            return;
        }
    };
    *lock(&shared.started_in) = Some(started.elapsed().as_secs_f64());
    let mut hooked_pid = runtime_pid(&shared);
    if requests.is_empty() {
        warm_analyzer(&mut ctx);
    } else {
        // A cell sent while we started loads rust-analyzer itself, and sooner: the
        // warm-up's completion query costs more than a cell's type questions.
        elog!("ferrolab: a request is waiting, so rust-analyzer loads with it (no warm-up)");
    }
    let mut cell = 0u64;
    for request in requests.iter() {
        match request {
            Request::Execute {
                code,
                line_offset,
                out,
            } => {
                let _ = out.send(Out::Started);
                // A build dir removed under the kernel is written again before the cell
                // builds in it (evcxr rewrites only its own files).
                let slot = super::setup::build_slot();
                if let Some(said) = slot.and_then(|s| super::setup::restore_removed_slot(&s, &library)) {
                    elog!("ferrolab: {said}");
                    let _ = out.send(Out::Event(Event::stderr(format!("{said}\n"))));
                }
                // evcxr's `:clear` also forgets the library and the prelude: run up to it,
                // put them back, then run what follows, so later lines see `ferrolab`.
                let parts = split_after_clear(&code);
                for (offset, part) in parts {
                    cell += 1;
                    let cell_info = CellRun {
                        number: cell,
                        code: part,
                        line_offset: line_offset + offset,
                    };
                    let outcome = execute(&mut ctx, &shared, &finish_tx, &cell_info, out.clone());
                    if let Outcome::Broken { panic, lost } = outcome {
                        // evcxr panicked mid-cell: its context cannot be trusted.
                        match restart(ctx, &library, &shared) {
                            Ok(opened) => (ctx, finish_tx) = opened,
                            Err(message) => {
                                *lock(&shared.status) = Status::Failed(message.clone());
                                let _ = out.send(Out::Event(error("EngineStartFailed", &message)));
                                let _ = out.send(Out::Done);
                                return serve_failed(&message, &requests);
                            }
                        }
                        hooked_pid = runtime_pid(&shared);
                        let _ = finish_tx.send(Finish::Cell(restarted_error(&cell_info, &panic, &lost)));
                        break;
                    }
                    if is_clear(part) {
                        if let Err(e) = restore_library(&mut ctx, &library) {
                            elog!("ferrolab: {e}");
                        }
                    }
                    // A restarted runtime (`:clear`, `:restart`, a kill) lost the panic hook.
                    if runtime_pid(&shared) != hooked_pid {
                        hooked_pid = install_panic_hook(&mut ctx, &shared);
                    }
                    if outcome == Outcome::Failed {
                        break;
                    }
                }
                let _ = finish_tx.send(Finish::Done);
            }
            // A panic in analysis answers that question with nothing; the context stays.
            Request::Complete {
                code,
                byte_pos,
                reply,
            } => {
                let found = guarded("complete", || ctx.completions(&code, byte_pos))
                    .ok()
                    .and_then(Result::ok)
                    .map(|c| RaCompletions {
                        matches: c.completions.into_iter().map(|c| c.code).collect(),
                        start: c.start_offset,
                        end: c.end_offset,
                    });
                let _ = reply.send(found);
            }
            Request::Hover {
                code,
                byte_pos,
                reply,
            } => {
                let found = guarded("hover", || ctx.hover_at(&code, byte_pos));
                let _ = reply.send(found.ok().and_then(Result::ok));
            }
        }
    }
}

/// A fresh context (see [`start`]) and the channel that tells its forwarder where cells
/// stand; a panic while building it is a failed start.
fn open(library: &std::path::Path, shared: &Arc<Shared>) -> Result<(CommandContext, Sender<Finish>), String> {
    let (finish_tx, finish_rx) = crossbeam_channel::unbounded();
    let ctx = guarded("start", || start(library, shared, finish_rx))
        .map_err(|panic| format!("evcxr panicked while starting: {panic}"))??;
    Ok((ctx, finish_tx))
}

/// Replaces a context that panicked: its runtime is killed (the variables are gone with
/// it), then a new context loads the library (built already: seconds).
fn restart(
    old: CommandContext,
    library: &std::path::Path,
    shared: &Arc<Shared>,
) -> Result<(CommandContext, Sender<Finish>), String> {
    let t0 = Instant::now();
    if let Some(runtime) = lock(&shared.runtime).take() {
        let _ = lock(&runtime).kill();
    }
    let _ = guarded("drop", move || drop(old));
    let opened = open(library, shared)?;
    *lock(&shared.vars) = Vec::new();
    elog!(
        "ferrolab: the engine restarted in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    Ok(opened)
}

/// The end of a cell during which evcxr panicked, after the engine restarted: its error
/// names the variables lost.
fn restarted_error(cell: &CellRun, panic: &str, lost: &[(String, String)]) -> CellEnd {
    let lost = if lost.is_empty() {
        "no variables were lost".to_string()
    } else {
        let names: Vec<String> = lost.iter().map(|(n, t)| format!("{n}: {t}")).collect();
        format!("these variables were lost: {}", names.join(", "))
    };
    let message = format!(
        "the Rust engine failed inside evcxr while running this cell ({panic}), so it restarted \
         with the library loaded; {lost}. Run the cells that define them again."
    );
    CellEnd {
        events: vec![error("EngineRestarted", &message)],
        ok: false,
        code: cell.code.to_string(),
        line_offset: cell.line_offset,
    }
}

/// Builds the context, starts the forwarder and compiles the library into it.
fn start(
    library: &std::path::Path,
    shared: &Arc<Shared>,
    finish_rx: Receiver<Finish>,
) -> Result<CommandContext, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut runtime = std::process::Command::new(exe);
    // Its own process group: a Ctrl-C in the kernel's terminal must reach the
    // kernel (which relays it as an interrupt), not kill the runtime directly.
    runtime.process_group(0);
    let libdir = rust_target_libdir();
    if let Some(libdir) = &libdir {
        super::setup::write_std_sources(std::path::Path::new(libdir));
    }
    // Cells are built with `-C prefer-dynamic`, so they need the toolchain's
    // libstd-*.so at dlopen time; `cargo run` puts it on the library path, a
    // binary started by Jupyter has no such help.
    if let Some(libdir) = libdir {
        let mut path = std::ffi::OsString::from(libdir);
        if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
            path.push(":");
            path.push(old);
        }
        runtime.env("LD_LIBRARY_PATH", path);
    }
    let slot = super::setup::build_slot();
    // Held until the library has loaded: a kernel starting meanwhile waits to copy this
    // build rather than compiling the same crates at once (see `build_cache`).
    let _turn = slot.as_deref().and_then(super::build_cache::take_build_turn);
    let t0 = Instant::now();
    let (mut ctx, outputs) = EvalContext::with_subprocess_command(runtime).map_err(|e| e.to_string())?;
    // Start-up phases go to the kernel's log: they explain a slow first cell.
    elog!(
        "ferrolab: evcxr context ready in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    *lock(&shared.runtime) = Some(ctx.process_handle());
    spawn_forwarder(outputs, shared.clone(), library.to_path_buf(), finish_rx);
    // evcxr's first cell (`42`, no dependencies) trimmed the build's Cargo.lock;
    // restoring the workspace's lock lets cargo add the library without a fresh
    // resolve (no index update, same versions as the workspace).
    if let Some(slot) = &slot {
        let _ = std::fs::copy(library.join("Cargo.lock"), slot.join("Cargo.lock"));
    }
    let mut state = ctx.state();
    for (key, value) in PROFILE_ENV {
        state.set_build_env(key, value);
    }
    // Through evcxr's setting, not cargo's environment, so `:opt` can change it.
    state.set_opt_level(OPT_LEVEL).map_err(|e| e.to_string())?;
    state
        .add_dep("ferrolab", &library_dep(library)?)
        .map_err(|e| e.to_string())?;
    // A build from scratch is marked until loaded: a kernel killed meanwhile leaves the slot
    // for the next to repair. A built slot is not marked: it stays a seed for kernels
    // starting beside this one.
    let building = slot.as_deref().filter(|s| !super::warmup::is_built(s));
    if let Some(slot) = building {
        super::build_cache::mark_unfinished(slot);
    }
    // The panic hook goes in with the prelude: one build, and the first cell has it.
    ctx.eval_with_state(&format!("{PRELUDE}\n{}", super::panic_report::HOOK), state)
        .map_err(|e| format!("building the ferrolab library in evcxr failed:\n{e}"))?;
    if let Some(slot) = building {
        super::build_cache::finished(slot);
    }
    elog!("ferrolab: library loaded in {:.2} s", t0.elapsed().as_secs_f64());
    Ok(CommandContext::with_eval_context(ctx))
}

/// What every cell has in scope.
const PRELUDE: &str = "use ferrolab::prelude::*;";

/// The dependency cells see as `ferrolab` (see `setup::write_cells_crate`), as TOML.
fn library_dep(library: &std::path::Path) -> Result<String, String> {
    let slot = super::setup::build_slot().ok_or("EVCXR_TMPDIR is not set")?;
    let cells = super::setup::write_cells_crate(&slot, library).map_err(|e| format!("{e:#}"))?;
    let cells = cells.to_str().ok_or("the build dir's path is not UTF-8")?;
    Ok(format!("{{ package = \"ferrolab-cells\", path = {cells:?} }}"))
}

/// evcxr's `:clear` forgets dependencies and `use`s too; put the library back.
fn restore_library(ctx: &mut CommandContext, library: &std::path::Path) -> Result<(), String> {
    let dep = library_dep(library)?;
    guarded("execute", || {
        ctx.execute(&format!(":dep ferrolab = {dep}"))
            .and_then(|_| ctx.execute(PRELUDE))
            .map(drop)
    })
    .map_err(|panic| format!("restoring the library after :clear panicked: {panic}"))?
    .map_err(|e| format!("restoring the library after :clear failed: {e}"))
}

/// Has rust-analyzer load the library and dfdx now, while nobody waits for a cell.
///
/// evcxr asks rust-analyzer for the type of every `let` in a cell; its first question in a
/// process loads the whole crate graph, several seconds that would otherwise land on the
/// learner's first `let model = …`. A completion on a library value asks the same. Only
/// done when no request is queued: the query cannot be cut short once it runs.
fn warm_analyzer(ctx: &mut CommandContext) {
    let t0 = Instant::now();
    let code = "let ferrolab_warm = Cnn::<f32, Cpu>::new(&Cpu::default());\nferrolab_warm.";
    let _ = guarded("complete", || ctx.completions(code, code.len()));
    elog!(
        "ferrolab: rust-analyzer ready in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
}

/// After a failed start every Rust cell gets the start-up error.
fn serve_failed(message: &str, requests: &Receiver<Request>) {
    for request in requests.iter() {
        match request {
            Request::Execute { out, .. } => {
                let _ = out.send(Out::Event(error("EngineStartFailed", message)));
                let _ = out.send(Out::Done);
            }
            Request::Complete { reply, .. } => drop(reply.send(None)),
            Request::Hover { reply, .. } => drop(reply.send(None)),
        }
    }
}

/// How a cell ended, for the worker.
#[derive(PartialEq)]
enum Outcome {
    Ok,
    /// The cell failed (its error is on the way): the rest of the request is skipped.
    Failed,
    /// evcxr panicked running it: the context must be replaced; `lost` are the variables
    /// the cell started with.
    Broken {
        panic: String,
        lost: Vec<(String, String)>,
    },
}

/// Runs one cell in evcxr (a panic is seen by the forwarder, a panic of evcxr's own is
/// [`Outcome::Broken`] and nothing is sent for it yet).
fn execute(
    ctx: &mut CommandContext,
    shared: &Shared,
    finish: &Sender<Finish>,
    cell: &CellRun,
    out: Sender<Out>,
) -> Outcome {
    let before: Vec<(String, String)> = variables(ctx);
    shared.interrupted.store(false, Ordering::SeqCst);
    shared.killed.store(false, Ordering::SeqCst);
    *lock(&shared.current) = Some(out);
    *lock(&shared.running) = Some(cell.number);
    let prepared = super::cell::prepare(cell.code);
    let result = guarded("execute", || ctx.execute(&prepared.code));
    *lock(&shared.running) = None;
    let result = match result {
        Ok(result) => result,
        Err(panic) => return Outcome::Broken { panic, lost: before },
    };
    let after = variables(ctx);
    let mut events = Vec::new();
    let ok = result.is_ok();
    match result {
        Ok(outputs) => {
            if let Some(took) = outputs.timing {
                events.push(Event::stdout(format!("Took {}ms\n", took.as_millis())));
            }
            // The content blocks printed last (the relay passes them to evcxr): the cell's
            // value if it ends in an expression, else a display (`x.evcxr_display();`).
            if !outputs.content_by_mime_type.is_empty() {
                let bundle: Bundle = outputs
                    .content_by_mime_type
                    .into_iter()
                    .map(|(mime, content)| (mime, Value::String(content)))
                    .collect();
                events.push(if prepared.has_value {
                    Event::Result(bundle)
                } else {
                    Event::Display { id: None, bundle }
                });
            }
        }
        Err(err) => events.push(error_event(err, shared, &before, &after, cell, &prepared)),
    }
    *lock(&shared.vars) = after;
    let _ = finish.send(Finish::Cell(CellEnd {
        events,
        ok,
        code: cell.code.to_string(),
        line_offset: cell.line_offset,
    }));
    if ok {
        Outcome::Ok
    } else {
        Outcome::Failed
    }
}

/// Splits a cell after each `:clear` line: (lines before the part, part).
fn split_after_clear(code: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let (mut start, mut start_line) = (0, 0);
    let mut offset = 0;
    for (number, line) in code.split_inclusive('\n').enumerate() {
        offset += line.len();
        if is_clear(line) && !code[offset..].trim().is_empty() {
            parts.push((start_line, &code[start..offset]));
            start = offset;
            start_line = number + 1;
        }
    }
    parts.push((start_line, &code[start..]));
    parts
}

/// Whether `code` ends with evcxr's `:clear` command line.
fn is_clear(code: &str) -> bool {
    code.trim_end()
        .lines()
        .last()
        .is_some_and(|l| l.trim() == ":clear")
}

fn runtime_pid(shared: &Shared) -> Option<u32> {
    lock(&shared.runtime).as_ref().map(|child| lock(child).id())
}

/// Runs the panic hook cell in the runtime; returns the runtime it was installed in.
fn install_panic_hook(ctx: &mut CommandContext, shared: &Shared) -> Option<u32> {
    match guarded("execute", || ctx.execute(super::panic_report::HOOK)) {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => elog!("ferrolab: the panic hook was not installed: {e}"),
        Err(panic) => elog!("ferrolab: the panic hook was not installed: {panic}"),
    }
    runtime_pid(shared)
}

fn variables(ctx: &CommandContext) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = guarded("variables", || {
        ctx.variables_and_types()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect()
    })
    .unwrap_or_default();
    vars.sort();
    vars
}

fn error(ename: &str, evalue: &str) -> Event {
    let mut traceback = vec![format!("{ename}: {}", evalue.lines().next().unwrap_or(""))];
    traceback.extend(evalue.lines().skip(1).map(str::to_string));
    Event::Error {
        ename: ename.into(),
        evalue: evalue.into(),
        traceback,
    }
}

/// Maps evcxr's error to an error event, naming lost variables when the runtime died.
fn error_event(
    err: evcxr::Error,
    shared: &Shared,
    before: &[(String, String)],
    after: &[(String, String)],
    cell: &CellRun,
    prepared: &super::cell::Prepared,
) -> Event {
    let interrupted = shared.interrupted.load(Ordering::SeqCst);
    match err {
        // A stopped build fails with whatever cargo printed last: none of it is news.
        evcxr::Error::CompilationErrors(_) | evcxr::Error::Message(_) if interrupted => {
            error("Interrupted", "the build was stopped; no variables were lost.")
        }
        evcxr::Error::CompilationErrors(errors) => compile_error(&errors, cell, prepared),
        evcxr::Error::SubprocessTerminated(message) => {
            let lost: Vec<String> = before
                .iter()
                .filter(|v| !after.contains(v))
                .map(|(n, t)| format!("{n}: {t}"))
                .collect();
            let lost = if lost.is_empty() {
                "no variables were lost".to_string()
            } else {
                format!("these variables were lost: {}", lost.join(", "))
            };
            if shared.killed.load(Ordering::SeqCst) {
                error(
                    "Interrupted",
                    &format!(
                        "the cell did not stop after the interrupt, so its runtime was restarted; {lost}. \
                         Types, functions and dependencies are kept."
                    ),
                )
            } else {
                let why = if interrupted {
                    "the cell had no interrupt handler (only ferrolab's training loop stops cleanly)"
                } else {
                    message.trim()
                };
                error(
                    "RuntimeTerminated",
                    &format!("{why}; the runtime was restarted; {lost}."),
                )
            }
        }
        evcxr::Error::TypeRedefinedVariablesLost(vars) => error(
            "TypeRedefined",
            &format!(
                "a type was redefined; these variables were lost: {}",
                vars.join(", ")
            ),
        ),
        evcxr::Error::Message(message) => error("Error", &message),
    }
}

/// rustc's errors drawn on the cell (see `diagnostic`), or advice when the cell's shape
/// explains them better.
fn compile_error(
    errors: &[evcxr::CompilationError],
    cell: &CellRun,
    prepared: &super::cell::Prepared,
) -> Event {
    let codes: Vec<&str> = errors.iter().filter_map(|e| e.code()).collect();
    let advice = super::cell::advice(prepared).filter(|_| {
        if prepared.bare_path.is_some() {
            // An unknown name is rustc's to explain (it suggests similar names).
            !codes.contains(&"E0425")
        } else {
            codes.contains(&"E0277")
        }
    });
    if let Some(advice) = advice {
        return error("CompilationError", &advice);
    }
    // The whole cell, so labels keep the cell's own line numbers.
    let whole = format!("{}{}", "\n".repeat(cell.line_offset), cell.code);
    let mut traceback = Vec::new();
    let mut messages = Vec::new();
    for e in errors.iter().filter(|e| e.level() == "error") {
        let d = diagnostic_of(e, cell.line_offset);
        if messages.contains(&d.message) && d.labels.is_empty() {
            continue;
        }
        messages.push(d.message.clone());
        if !traceback.is_empty() {
            traceback.push(String::new());
        }
        traceback.extend(diagnostic::render(&d, &whole));
    }
    if messages.is_empty() {
        messages.push("the cell did not compile".into());
    }
    Event::Error {
        ename: "CompilationError".into(),
        evalue: messages.join("\n"),
        traceback,
    }
}

fn diagnostic_of(e: &evcxr::CompilationError, line_offset: usize) -> Diagnostic {
    let mut labels: Vec<Label> = Vec::new();
    // Help with a place in the cell ("consider …") joins the drawing, secondary.
    let spanned = e.spanned_messages().iter().map(|m| (m, m.is_primary));
    for (m, primary) in spanned.chain(e.help_spanned().iter().map(|m| (m, false))) {
        if let Some(span) = m.span {
            labels.push(Label {
                line: span.start_line + line_offset,
                start: span.start_column,
                end_line: span.end_line + line_offset,
                end: span.end_column,
                // evcxr labels an unlabelled span with the error itself: said in the heading.
                text: if m.label.starts_with("error: ") {
                    String::new()
                } else {
                    m.label.clone()
                },
                primary,
            });
        }
    }
    labels.dedup();
    let notes = e.json["children"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|child| child["spans"].as_array().is_none_or(Vec::is_empty))
        .filter_map(|child| {
            let level = child["level"].as_str()?;
            let message = child["message"].as_str()?;
            // Notes about evcxr's generated code mean nothing to the learner.
            (!message.contains("evcxr")).then(|| format!("{level}: {message}"))
        })
        .collect();
    Diagnostic {
        code: e.code().map(str::to_string),
        message: e.message().replace("<end of input>", "the end of the cell"),
        labels,
        notes,
    }
}

fn spawn_forwarder(
    outputs: EvalContextOutputs,
    shared: Arc<Shared>,
    library: PathBuf,
    finish: Receiver<Finish>,
) {
    let spawned = std::thread::Builder::new()
        .name("evcxr-output".into())
        .spawn(move || forward(outputs, &shared, library, finish));
    if let Err(e) = spawned {
        elog!("ferrolab: cannot start the output thread: {e}");
    }
}

/// What the forwarder holds back for the running cell.
#[derive(Default)]
struct Pending {
    /// Stream text not yet sent: (name, text), merged while lines keep coming.
    stream: Option<(String, String)>,
    /// When the held stream text began: it goes out at most [`STREAM_BATCH`] later.
    stream_since: Option<Instant>,
    /// evcxr content blocks printed mid-cell one after another: one display.
    content: Bundle,
    /// A panic the hook reported during this cell.
    panic: Option<Panic>,
}

fn forward(outputs: EvalContextOutputs, shared: &Shared, library: PathBuf, finish: Receiver<Finish>) {
    let EvalContextOutputs { stdout, stderr } = outputs;
    let mut pending = Pending::default();
    let send = |event: Event| {
        if let Some(out) = lock(&shared.current).as_ref() {
            let _ = out.send(Out::Event(event));
        }
    };
    loop {
        // Lines are batched into one stream message for at most STREAM_BATCH: output stays
        // live, and a loop's 1,000 lines are not 1,000 messages.
        let due = pending.stream_since.map_or(Duration::from_secs(3600), |t| {
            STREAM_BATCH.saturating_sub(t.elapsed())
        });
        select! {
            recv(stdout) -> line => match line {
                Ok(line) => {
                    stdout_line(&line, &mut pending, &send);
                    if pending.stream_since.is_some_and(|t| t.elapsed() >= STREAM_BATCH) {
                        flush_stream(&mut pending, &send);
                    }
                }
                Err(_) => return,
            },
            // Only what the runtime wrote before its relay started, or after it died.
            recv(stderr) -> line => match line {
                Ok(line) => {
                    flush_stream(&mut pending, &send);
                    send(Event::stderr(format!("{line}\n")));
                }
                Err(_) => return,
            },
            recv(finish) -> done => match done {
                Ok(Finish::Cell(end)) => {
                    // evcxr returns only after its stdout channel is empty, and the relay put
                    // the cell's stderr before evcxr's completion line: all output is here.
                    flush_stream(&mut pending, &send);
                    flush_content(&mut pending, &send);
                    let panic = pending.panic.take();
                    end.events.into_iter().for_each(&send);
                    if let Some(panic) = panic {
                        let generated_path = super::setup::build_slot()
                            .map(|dir| dir.join("src/lib.rs"))
                            .unwrap_or_default();
                        let generated = std::fs::read_to_string(&generated_path).unwrap_or_default();
                        let cell = CellSource {
                            code: &end.code,
                            line_offset: end.line_offset,
                            generated: &generated,
                            generated_path: &generated_path,
                        };
                        *lock(&shared.last_backtrace) = Some(panic.backtrace.clone());
                        if end.ok {
                            send(super::panic_report::error_event(&panic, &cell, &library));
                        }
                    }
                }
                Ok(Finish::Done) => {
                    if let Some(out) = lock(&shared.current).take() {
                        let _ = out.send(Out::Done);
                    }
                }
                Err(_) => return,
            },
            default(due) => flush_stream(&mut pending, &send),
        }
    }
}

fn flush_stream(pending: &mut Pending, send: &dyn Fn(Event)) {
    pending.stream_since = None;
    if let Some((name, text)) = pending.stream.take() {
        send(Event::Stream { name, text });
    }
}

/// Sends held-back content blocks as a display: other output follows them.
fn flush_content(pending: &mut Pending, send: &dyn Fn(Event)) {
    if !pending.content.is_empty() {
        let bundle = std::mem::take(&mut pending.content);
        send(Event::Display { id: None, bundle });
    }
}

fn push_stream(pending: &mut Pending, name: &str, text: &str, send: &dyn Fn(Event)) {
    flush_content(pending, send);
    match &mut pending.stream {
        Some((held, held_text)) if held == name => {
            held_text.push_str(text);
            held_text.push('\n');
        }
        _ => {
            flush_stream(pending, send);
            pending.stream = Some((name.to_string(), format!("{text}\n")));
            pending.stream_since = Some(Instant::now());
        }
    }
}

/// One line of the runtime's relayed stdout: stderr, a content block, a panic, a display
/// marker, or text.
fn stdout_line(line: &str, pending: &mut Pending, send: &dyn Fn(Event)) {
    if let Some(text) = line.strip_prefix(STDERR_PREFIX) {
        return push_stream(pending, "stderr", text, send);
    }
    if let Some(json) = line.strip_prefix(CONTENT_PREFIX) {
        if let Ok(block) = serde_json::from_str::<Value>(json) {
            if let (Some(mime), Some(content)) = (block["mime"].as_str(), block["content"].as_str()) {
                flush_stream(pending, send);
                pending
                    .content
                    .insert(mime.to_string(), Value::String(content.to_string()));
                return;
            }
        }
    }
    if let Some(panic) = Panic::parse(line) {
        pending.panic.get_or_insert(panic);
        return;
    }
    match ferrolab::display::split_marker(line) {
        Some((before, msg)) => {
            if !before.is_empty() {
                push_stream(pending, "stdout", before, send);
            }
            flush_stream(pending, send);
            flush_content(pending, send);
            let bundle: Bundle = msg
                .data
                .iter()
                .map(|(mime, content)| (mime.to_string(), Value::String(content.to_string())))
                .collect();
            send(if msg.update {
                Event::UpdateDisplay { id: msg.id, bundle }
            } else {
                Event::Display {
                    id: Some(msg.id),
                    bundle,
                }
            });
        }
        None => push_stream(pending, "stdout", line, send),
    }
}

/// The toolchain's target library dir (where `libstd-*.so` lives), from rustc.
fn rust_target_libdir() -> Option<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = std::process::Command::new(rustc)
        .args(["--print", "target-libdir"])
        .output()
        .ok()?;
    let dir = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !dir.is_empty()).then_some(dir)
}
