//! The thread that owns evcxr's `CommandContext`, and the thread that turns the
//! runtime's output into [`Event`]s.
//!
//! evcxr's context is `&mut` and not meant to be shared, so one worker thread
//! builds it (in the background, at start) and serves requests from a channel in
//! order; a cell that arrives during start-up simply waits in the queue. The
//! runtime's stdout and stderr lines arrive on evcxr's channels; a forwarder thread
//! splits display markers from plain text and sends both to the running cell. The
//! worker knows nothing of Jupyter; interrupt policy lives in `evcxr_engine`.

use super::setup::{OPT_LEVEL, PROFILE_ENV};
use super::{Bundle, Event};
use crossbeam_channel::{select, Receiver, Sender};
use evcxr::{CommandContext, EvalContext, EvalContextOutputs};
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a finished cell waits for stderr lines still in flight: the runtime
/// writes them before it reports completion, but they travel through evcxr's
/// separate stderr reader thread.
const STDERR_SETTLE: Duration = Duration::from_millis(5);

/// What a cell's event stream carries: events, then exactly one `Done`.
pub enum Out {
    Event(Event),
    Done,
}

/// Work for the worker thread, served in order.
pub enum Request {
    Execute {
        code: String,
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
        }
    }
}

/// Locks, ignoring poisoning: a panicked holder leaves data we can still read.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tells the forwarder a cell finished: flush its output, then these events, then `Done`.
struct Finish {
    events: Vec<Event>,
    ok: bool,
}

/// Spawns the worker; it starts evcxr with `library` as a dependency, then serves `requests`.
pub fn spawn(library: PathBuf, shared: Arc<Shared>, requests: Receiver<Request>) {
    let spawned = std::thread::Builder::new()
        .name("evcxr".into())
        .spawn(move || run(library, shared, requests));
    if let Err(e) = spawned {
        eprintln!("ferrolab: cannot start the evcxr thread: {e}");
    }
}

fn run(library: PathBuf, shared: Arc<Shared>, requests: Receiver<Request>) {
    let started = Instant::now();
    let (finish_tx, finish_rx) = crossbeam_channel::unbounded();
    let mut ctx = match start(&library, &shared, finish_rx) {
        Ok(ctx) => {
            *lock(&shared.status) = Status::Ready;
            ctx
        }
        Err(message) => {
            *lock(&shared.status) = Status::Failed(message.clone());
            serve_failed(&message, requests);
            return;
        }
    };
    *lock(&shared.started_in) = Some(started.elapsed().as_secs_f64());
    if requests.is_empty() {
        warm_analyzer(&mut ctx);
    } else {
        // A cell sent while we started loads rust-analyzer itself, and sooner: the
        // warm-up's completion query costs more than a cell's type questions.
        eprintln!("ferrolab: a request is waiting, so rust-analyzer loads with it (no warm-up)");
    }
    let mut cell = 0u64;
    for request in requests {
        match request {
            Request::Execute { code, out } => {
                cell += 1;
                execute(&mut ctx, &shared, &finish_tx, cell, &code, out);
                if code.trim() == ":clear" {
                    if let Err(e) = restore_library(&mut ctx, &library) {
                        eprintln!("ferrolab: {e}");
                    }
                }
            }
            Request::Complete {
                code,
                byte_pos,
                reply,
            } => {
                let found = ctx.completions(&code, byte_pos).ok().map(|c| RaCompletions {
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
                let _ = reply.send(ctx.hover_at(&code, byte_pos).ok());
            }
        }
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
    let t0 = Instant::now();
    let (mut ctx, outputs) = EvalContext::with_subprocess_command(runtime).map_err(|e| e.to_string())?;
    // Start-up phases go to the kernel's log: they explain a slow first cell.
    eprintln!(
        "ferrolab: evcxr context ready in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    *lock(&shared.runtime) = Some(ctx.process_handle());
    spawn_forwarder(outputs, shared.clone(), finish_rx);
    // evcxr's first cell (`42`, no dependencies) trimmed the build's Cargo.lock;
    // restoring the workspace's lock lets cargo add the library without a fresh
    // resolve (no index update, same versions as the workspace).
    if let Some(slot) = std::env::var_os("EVCXR_TMPDIR") {
        let _ = std::fs::copy(
            library.join("Cargo.lock"),
            std::path::Path::new(&slot).join("Cargo.lock"),
        );
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
    ctx.eval_with_state(PRELUDE, state)
        .map_err(|e| format!("building the ferrolab library in evcxr failed:\n{e}"))?;
    eprintln!("ferrolab: library loaded in {:.2} s", t0.elapsed().as_secs_f64());
    Ok(CommandContext::with_eval_context(ctx))
}

/// What every cell has in scope.
const PRELUDE: &str = "use ferrolab::prelude::*;";

/// The dependency cells see as `ferrolab` (see `setup::write_cells_crate`), as TOML.
fn library_dep(library: &std::path::Path) -> Result<String, String> {
    let slot = std::env::var_os("EVCXR_TMPDIR").ok_or("EVCXR_TMPDIR is not set")?;
    let cells = super::setup::write_cells_crate(std::path::Path::new(&slot), library)
        .map_err(|e| format!("{e:#}"))?;
    let cells = cells.to_str().ok_or("the build dir's path is not UTF-8")?;
    Ok(format!("{{ package = \"ferrolab-cells\", path = {cells:?} }}"))
}

/// evcxr's `:clear` forgets dependencies and `use`s too; put the library back.
fn restore_library(ctx: &mut CommandContext, library: &std::path::Path) -> Result<(), String> {
    let dep = library_dep(library)?;
    ctx.execute(&format!(":dep ferrolab = {dep}"))
        .and_then(|_| ctx.execute(PRELUDE))
        .map(drop)
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
    let _ = ctx.completions(code, code.len());
    eprintln!(
        "ferrolab: rust-analyzer ready in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
}

/// After a failed start every Rust cell gets the start-up error.
fn serve_failed(message: &str, requests: Receiver<Request>) {
    for request in requests {
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

fn execute(
    ctx: &mut CommandContext,
    shared: &Shared,
    finish: &Sender<Finish>,
    cell: u64,
    code: &str,
    out: Sender<Out>,
) {
    let before: Vec<(String, String)> = variables(ctx);
    shared.interrupted.store(false, Ordering::SeqCst);
    shared.killed.store(false, Ordering::SeqCst);
    *lock(&shared.current) = Some(out);
    *lock(&shared.running) = Some(cell);
    let result = ctx.execute(code);
    *lock(&shared.running) = None;
    let after = variables(ctx);
    let mut events = Vec::new();
    let ok = result.is_ok();
    match result {
        Ok(outputs) => {
            if let Some(took) = outputs.timing {
                events.push(Event::stdout(format!("Took {}ms\n", took.as_millis())));
            }
            if !outputs.content_by_mime_type.is_empty() {
                let bundle: Bundle = outputs
                    .content_by_mime_type
                    .into_iter()
                    .map(|(mime, content)| (mime, Value::String(content)))
                    .collect();
                events.push(Event::Result(bundle));
            }
        }
        Err(err) => events.push(error_event(err, shared, &before, &after)),
    }
    *lock(&shared.vars) = after;
    let _ = finish.send(Finish { events, ok });
}

fn variables(ctx: &CommandContext) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = ctx
        .variables_and_types()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
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
) -> Event {
    let interrupted = shared.interrupted.load(Ordering::SeqCst);
    match err {
        evcxr::Error::CompilationErrors(errors) => {
            let evalue = errors.iter().map(|e| e.message()).collect::<Vec<_>>().join("\n");
            let traceback = errors
                .iter()
                .flat_map(|e| {
                    let text = e.rendered();
                    let text = if text.trim().is_empty() { e.message() } else { text };
                    text.lines().map(str::to_string).collect::<Vec<_>>()
                })
                .collect();
            Event::Error {
                ename: "CompilationError".into(),
                evalue,
                traceback,
            }
        }
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
        evcxr::Error::Message(message) if interrupted => error(
            "Interrupted",
            &format!("the build was stopped; no variables were lost.\n{message}"),
        ),
        evcxr::Error::Message(message) => error("Error", &message),
    }
}

fn spawn_forwarder(outputs: EvalContextOutputs, shared: Arc<Shared>, finish: Receiver<Finish>) {
    let spawned = std::thread::Builder::new()
        .name("evcxr-output".into())
        .spawn(move || forward(outputs, &shared, finish));
    if let Err(e) = spawned {
        eprintln!("ferrolab: cannot start the output thread: {e}");
    }
}

/// The panic seen in the running cell's stderr, if any (the runtime catches
/// panics, so evcxr reports success; we report an error like other kernels do).
#[derive(Default)]
struct PanicSeen {
    seen: bool,
    message: Option<String>,
}

fn forward(outputs: EvalContextOutputs, shared: &Shared, finish: Receiver<Finish>) {
    let EvalContextOutputs { stdout, stderr } = outputs;
    let mut panic = PanicSeen::default();
    let send = |event: Event| {
        if let Some(out) = lock(&shared.current).as_ref() {
            let _ = out.send(Out::Event(event));
        }
    };
    let on_stderr = |line: String, panic: &mut PanicSeen| {
        if panic.seen && panic.message.is_none() {
            panic.message = Some(line.clone());
        }
        if line.contains("panicked at") {
            panic.seen = true;
        }
        send(Event::stderr(format!("{line}\n")));
    };
    loop {
        select! {
            recv(stdout) -> line => match line {
                Ok(line) => stdout_line(&line, &send),
                Err(_) => return,
            },
            recv(stderr) -> line => match line {
                Ok(line) => on_stderr(line, &mut panic),
                Err(_) => return,
            },
            recv(finish) -> done => {
                let Ok(done) = done else { return };
                // evcxr waited for its stdout channel to empty before returning, so
                // the cell's stdout is already sent; stderr has its own reader, so
                // take what it has queued.
                while let Ok(line) = stderr.recv_timeout(STDERR_SETTLE) {
                    on_stderr(line, &mut panic);
                }
                done.events.into_iter().for_each(&send);
                if done.ok && panic.seen {
                    let message = panic.message.take().unwrap_or_else(|| "the cell panicked".into());
                    send(error("panic", &message));
                }
                panic = PanicSeen::default();
                if let Some(out) = lock(&shared.current).take() {
                    let _ = out.send(Out::Done);
                }
            }
        }
    }
}

/// One runtime stdout line: a display marker becomes a display event, anything else text.
fn stdout_line(line: &str, send: &dyn Fn(Event)) {
    match ferrolab::display::split_marker(line) {
        Some((before, msg)) => {
            if !before.is_empty() {
                send(Event::stdout(format!("{before}\n")));
            }
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
        None => send(Event::stdout(format!("{line}\n"))),
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
