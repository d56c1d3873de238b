//! `ferrolab tutorial CHAPTER --verify`: runs a chapter's cells through the real engine, in
//! order, as a notebook would, and each exercise's check on the placeholder, the mistake and
//! the solution (expecting Not attempted, Incorrect, Correct). Prints every cell's output and
//! a summary; fails on an error output, a `plot` cell without an image, or a wrong verdict.
//!
//! For authors of chapters: it needs no Jupyter. The notebooks' own test (nbclient through
//! the kernel) does the same checks on the rendered notebooks.

use std::time::Instant;

use anyhow::Result;

use crate::course::{chapter::Chapter, project_root, read_chapters};
use crate::engine::{Bundle, Engine, Event};

pub fn verify(engine: &dyn Engine, which: &str) -> Result<()> {
    let chapters = read_chapters(&project_root())?;
    let chapter = chapters
        .iter()
        .find(|c| c.slug == which || c.slug == format!("ch{which}"))
        .ok_or_else(|| anyhow::anyhow!("no chapter {which:?} in tutorials/"))?;
    let started = Instant::now();
    let failures = run_chapter(engine, chapter);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "\n{}: {} code cells in {seconds:.1} s",
        chapter.slug,
        chapter.code_cells().count()
    );
    if failures.is_empty() {
        println!("all cells ran; every check said Not attempted, Incorrect and Correct as it should");
        Ok(())
    } else {
        // Printed here rather than returned: the runtime's RUST_BACKTRACE would have anyhow
        // add a backtrace of this function to a list of the chapter's problems.
        eprintln!("{} problem(s):\n{}", failures.len(), failures.join("\n"));
        std::process::exit(1)
    }
}

/// What one cell produced.
#[derive(Default)]
struct Outcome {
    error: Option<String>,
    image: bool,
    verdict: Option<String>,
}

fn run_cell(engine: &dyn Engine, code: &str) -> Outcome {
    let mut outcome = Outcome::default();
    let started = Instant::now();
    engine.execute(code, &mut |event| match event {
        Event::Stream { text, .. } => print!("{text}"),
        Event::Display { bundle, .. } | Event::UpdateDisplay { bundle, .. } | Event::Result(bundle) => {
            outcome.image |= bundle.contains_key("image/png") || bundle.contains_key("image/svg+xml");
            if let Some(verdict) = verdict_of(&bundle) {
                outcome.verdict = Some(verdict);
            }
            if let Some(text) = bundle.get("text/plain").and_then(|t| t.as_str()) {
                println!("{text}");
            }
        }
        Event::Error {
            ename,
            evalue,
            traceback,
        } => {
            let detail = if traceback.is_empty() {
                evalue.clone()
            } else {
                traceback.join("\n")
            };
            println!("ERROR {ename}: {detail}");
            outcome.error = Some(format!("{ename}: {evalue}"));
        }
        Event::ClearOutput { .. } | Event::Page(_) => {}
    });
    println!("   ({:.1} s)", started.elapsed().as_secs_f64());
    outcome
}

fn verdict_of(bundle: &Bundle) -> Option<String> {
    let json = bundle.get(ferrolab::exercises::mime::CHECK)?;
    let value: serde_json::Value = match json {
        serde_json::Value::String(s) => serde_json::from_str(s).ok()?,
        other => other.clone(),
    };
    value["verdict"].as_str().map(str::to_string)
}

fn run_chapter(engine: &dyn Engine, chapter: &Chapter) -> Vec<String> {
    let mut failures = Vec::new();
    for (n, cell) in chapter.code_cells().enumerate() {
        let first = cell.source.lines().next().unwrap_or("");
        println!(
            "── cell {} (tutorials/{}.md:{}) {first}",
            n + 1,
            chapter.slug,
            cell.line
        );
        let at = format!("tutorials/{}.md:{}", chapter.slug, cell.line);
        let Some(id) = cell.option("check") else {
            let outcome = run_cell(engine, &cell.source);
            if let Some(e) = outcome.error {
                failures.push(format!("{at}: {e}"));
            } else if cell.tags().contains(&"plot") && !outcome.image {
                failures.push(format!("{at}: a `plot` cell showed no image"));
            }
            continue;
        };
        let Some(exercise) = chapter.exercise(id).map(|i| &chapter.exercises[i]) else {
            continue;
        };
        for (answer, code, want) in [
            ("placeholder", None, "not_attempted"),
            ("mistake", Some(&exercise.mistake), "incorrect"),
            ("solution", Some(&exercise.solution), "correct"),
        ] {
            if let Some(code) = code {
                println!("   [{id}: the {answer}]");
                if let Some(e) = run_cell(engine, code).error {
                    failures.push(format!("{at}: exercise {id}'s {answer} does not run: {e}"));
                    continue;
                }
            }
            let outcome = run_cell(engine, &cell.source);
            match (outcome.error, outcome.verdict) {
                (Some(e), _) => failures.push(format!("{at}: check of {id} on the {answer} failed: {e}")),
                (None, Some(v)) if v == want => {}
                (None, got) => failures.push(format!(
                    "{at}: check of {id} on the {answer}: expected {want}, got {}",
                    got.as_deref().unwrap_or("no check result")
                )),
            }
        }
    }
    failures
}
