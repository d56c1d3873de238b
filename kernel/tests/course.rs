//! The guided course in a pseudo-terminal, as a learner walks it: open chapter 1, step
//! through its prose, run a code step, reach the first exercise, see the check say Not
//! attempted, type the solution, see Correct; quit, start again: the chapter reopens at
//! the same step with the exercise counted as solved.

mod pty;

use rexpect::session::PtySession;
use std::path::Path;

/// The chapter's first exercise's id and solution, from its rendered notebook's metadata.
fn first_exercise(chapter: &str) -> (String, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../notebooks/{chapter}.ipynb"));
    let nb: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let first = &nb["metadata"]["ferrolab"]["exercises"][0];
    (
        first["id"].as_str().unwrap().into(),
        first["solution"].as_str().unwrap().into(),
    )
}

/// ch01's line of the `:progress` listing.
fn chapter_line(listing: &str) -> String {
    let line = listing.lines().find(|l| {
        l.trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
            .starts_with("ch01 ")
    });
    line.unwrap_or_else(|| panic!("no ch01 line in {listing}"))
        .to_string()
}

/// Sends `line` (one or more lines of one cell) and returns what it printed before the next
/// prompt. rustyline redraws `>> ` at every keystroke, so the next prompt is found by the
/// bracketed-paste switch (`ESC [?2004h`) that rustyline sends each time it starts reading.
fn command(p: &mut PtySession, line: &str) -> String {
    for part in line.lines() {
        p.send_line(part).unwrap();
    }
    let out = p
        .exp_string("\x1b[?2004h")
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    p.exp_string(">> ").unwrap();
    out
}

#[test]
fn a_chapter_walked_solved_and_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let (id, solution) = first_exercise("ch01");
    let mut p = pty::start_course(dir.path(), "1");
    // rexpect reads bytes as Latin-1: expectations stay ASCII.
    p.exp_string("ch01 ").expect("the chapter opens");
    p.exp_string("step 1 of").expect("at its first step");
    p.exp_string(">> ").unwrap();

    // Walk to the first exercise, running every code step on the way (later steps and the
    // check may need their variables).
    let mut at_exercise = false;
    for _ in 0..200 {
        let shown = command(&mut p, ":next");
        assert!(!shown.contains("End of ch01"), "no exercise found in ch01");
        if shown.contains(":run runs it") {
            let ran = command(&mut p, ":run");
            assert!(!ran.contains("error"), "a code step failed: {ran}");
        }
        if shown.contains("then :check") {
            at_exercise = true;
            break;
        }
    }
    assert!(at_exercise);
    let step_line = {
        let listing = command(&mut p, ":progress");
        chapter_line(&listing)
    };

    command(&mut p, ":run"); // the placeholder, as written
    let verdict = command(&mut p, ":check");
    assert!(
        verdict.contains("Not attempted"),
        "the untouched placeholder: {verdict}"
    );
    let hint = command(&mut p, ":hint");
    assert!(!hint.contains("No exercise"), "a hint for this exercise: {hint}");

    command(&mut p, &solution);
    let verdict = command(&mut p, ":check");
    assert!(verdict.contains("Correct"), "the solution: {verdict}");
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();

    let saved = std::fs::read_to_string(dir.path().join("course.json")).unwrap();
    assert!(saved.contains(&id), "{saved}");

    let mut p = pty::start_course(dir.path(), "ch01");
    p.exp_string("Back in ch01 at step").expect("progress restored");
    p.exp_string(">> ").unwrap();
    let listing = command(&mut p, ":progress");
    let line = chapter_line(&listing);
    assert_eq!(
        line.split("step").nth(1).map(|s| s.split_whitespace().next()),
        step_line
            .split("step")
            .nth(1)
            .map(|s| s.split_whitespace().next())
    );
    assert!(line.contains("exercises 1/"), "{line}");
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}
