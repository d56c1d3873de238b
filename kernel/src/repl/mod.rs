//! The terminal REPL: the same engine as the kernel, at home in a terminal.
//!
//! Reads cells with rustyline (multi-line while the engine says the cell is incomplete,
//! completion from the engine, history kept per user), runs them, and renders their events
//! (`render`). Ctrl-C while a cell runs asks the engine to interrupt it (training stops at
//! the next batch and variables stay); Ctrl-C at the prompt clears the line; Ctrl-D exits.
//! The guided course's commands (`:chapter`, `:next`, `:check`, …) are answered by
//! [`Course`], whose actions run here through the same engine.

mod editor;
mod render;

use crate::course::{Action, Course};
use crate::engine::{Engine, Event};
use editor::EngineHelper;
use render::Renderer;
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the banner says about where code runs.
pub struct Banner {
    pub device: String,
    pub first_example: String,
}

/// Runs the REPL; with `chapter`, the guided course opens that chapter first.
pub fn run(engine: Arc<dyn Engine>, banner: Banner, chapter: Option<String>) -> anyhow::Result<()> {
    let session = session_dir();
    keep_stderr_off_the_screen(&session)?;
    let mut renderer = Renderer::stdout(session);
    print_banner(&renderer, &banner);
    let running = Arc::new(AtomicBool::new(false));
    forward_interrupts(engine.clone(), running.clone())?;

    let config = Config::builder()
        .auto_add_history(false)
        .max_history_size(10_000)?
        .build();
    let mut editor: Editor<EngineHelper, DefaultHistory> = Editor::with_config(config)?;
    editor.set_helper(Some(EngineHelper {
        engine: engine.clone(),
    }));
    let history = editor::history_path();
    if let Some(dir) = history.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let _ = editor.load_history(&history); // absent on first start

    let (mut course, note) = Course::load(crate::course::progress::default_path(), renderer.colour());
    if let Some(note) = note {
        println!("{note}");
    }
    let mut prefill: Option<String> = None;
    if let Some(chapter) = chapter {
        let actions = course.open(&chapter);
        act(
            actions,
            &engine,
            &mut renderer,
            &running,
            &mut course,
            &mut prefill,
        );
    }

    loop {
        let prompt = renderer.paint(">> ", "1;32");
        let line = match prefill.take() {
            Some(code) => editor.readline_with_initial(&prompt, (&code, "")),
            None => editor.readline(&prompt),
        };
        match line {
            Ok(cell) if cell.trim().is_empty() => continue,
            Ok(cell) => {
                editor.add_history_entry(cell.as_str())?;
                // Append now, so history survives a crash or a killed terminal.
                let _ = editor.append_history(&history);
                if Course::handles(&cell) {
                    let actions = course.command(&cell);
                    act(
                        actions,
                        &engine,
                        &mut renderer,
                        &running,
                        &mut course,
                        &mut prefill,
                    );
                    continue;
                }
                run_cell(&engine, &mut renderer, &running, &mut course, &cell);
                if cell.trim() == ":help" {
                    println!("\nThe guided course:");
                    for (command, help) in crate::course::COMMANDS {
                        println!("  {command:<18} {help}");
                    }
                }
            }
            Err(ReadlineError::Interrupted) => continue, // Ctrl-C at the prompt: clear the line
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        }
    }
    engine.shutdown(false);
    Ok(())
}

/// Runs one cell, recording any exercise check it shows in the course.
fn run_cell(
    engine: &Arc<dyn Engine>,
    renderer: &mut Renderer<std::io::Stdout>,
    running: &AtomicBool,
    course: &mut Course,
    cell: &str,
) {
    let mut checks = Vec::new();
    running.store(true, Ordering::SeqCst);
    crate::engine::execute_cell(engine.as_ref(), cell, &mut |event| {
        if let Event::Result(bundle) = &event {
            if let Some(json) = bundle
                .get(ferrolab::exercises::mime::CHECK)
                .and_then(|j| j.as_str())
            {
                checks.push(json.to_string());
            }
        }
        renderer.event(event)
    });
    running.store(false, Ordering::SeqCst);
    renderer.break_live();
    for json in checks {
        course.record(&json);
    }
}

/// Carries out a course command's actions in order.
fn act(
    actions: Vec<Action>,
    engine: &Arc<dyn Engine>,
    renderer: &mut Renderer<std::io::Stdout>,
    running: &AtomicBool,
    course: &mut Course,
    prefill: &mut Option<String>,
) {
    for action in actions {
        match action {
            Action::Say(text) => println!("{text}"),
            Action::Run(code) => run_cell(engine, renderer, running, course, &code),
            Action::Edit(code) => *prefill = Some(code),
        }
    }
}

fn print_banner(renderer: &Renderer<std::io::Stdout>, banner: &Banner) {
    let title = format!(
        "ferrolab {} · Rust deep-learning lab · {}",
        env!("CARGO_PKG_VERSION"),
        banner.device
    );
    println!("{}", renderer.paint(&title, "1"));
    println!("Type :help for commands, :chapter for the book's chapters. A first thing to try:");
    println!("    {}", banner.first_example);
    println!("Ctrl-C interrupts a running cell (training stops, variables stay); Ctrl-D exits.\n");
}

/// While a cell runs, Ctrl-C reaches this process as SIGINT: hand it to the engine.
/// At the prompt rustyline reads Ctrl-C as a key, so no signal arrives there.
fn forward_interrupts(engine: Arc<dyn Engine>, running: Arc<AtomicBool>) -> anyhow::Result<()> {
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT])?;
    std::thread::spawn(move || {
        for _ in signals.forever() {
            if running.load(Ordering::SeqCst) {
                engine.interrupt();
            }
        }
    });
    Ok(())
}

/// Sends this process's stderr to `engine.log` in the session folder.
///
/// The engine's start-up notes, and cargo's `Compiling …` lines when the library rebuilds
/// for cells (cargo inherits stderr from evcxr), would otherwise land on top of the prompt.
/// What a learner must see arrives as engine events and is printed on stdout.
fn keep_stderr_off_the_screen(session: &std::path::Path) -> anyhow::Result<()> {
    use std::os::fd::AsRawFd;
    std::fs::create_dir_all(session)?;
    let log = std::fs::File::create(session.join("engine.log"))?;
    // SAFETY: dup2 on two open descriptors; fd 2 now refers to the log file.
    if unsafe { libc::dup2(log.as_raw_fd(), 2) } < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(())
}

/// Images from this session: `$FERROLAB_OUTPUT_DIR`, else the user cache dir, one folder a session.
fn session_dir() -> PathBuf {
    let base = std::env::var_os("FERROLAB_OUTPUT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .unwrap_or_else(std::env::temp_dir)
                .join("ferrolab")
                .join("repl")
        });
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    base.join(format!("{stamp}-{}", std::process::id()))
}
