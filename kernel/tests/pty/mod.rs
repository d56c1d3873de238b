//! Starting the REPL binary in a pseudo-terminal with Rust cells (the evcxr engine), for
//! the pty test files that share it. Temporary history and output folders under `dir`.

use rexpect::session::{spawn_command, PtySession};
use std::process::Command;

/// The REPL at its first prompt.
pub fn start_rust_repl(dir: &std::path::Path) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrolab"));
    cmd.arg("repl")
        .env("FERROLAB_REPL_HISTORY", dir.join("history.txt"))
        .env("FERROLAB_OUTPUT_DIR", dir.join("out"))
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    // Generous: a cold machine builds the library for cells before the prompt.
    let mut p = spawn_command(cmd, Some(600_000)).expect("spawn the REPL");
    p.exp_string("Type :help").expect("banner");
    p.exp_string(">> ").expect("prompt");
    p
}

/// `ferrolab tutorial CHAPTER` at its first prompt, with progress kept in `dir`.
pub fn start_course(dir: &std::path::Path, chapter: &str) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrolab"));
    cmd.args(["tutorial", chapter])
        .env("FERROLAB_REPL_HISTORY", dir.join("history.txt"))
        .env("FERROLAB_OUTPUT_DIR", dir.join("out"))
        .env("FERROLAB_COURSE_PROGRESS", dir.join("course.json"))
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(600_000)).expect("spawn the course");
    p.exp_string("Type :help").expect("banner");
    p
}
