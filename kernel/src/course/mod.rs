//! The chapters: parsed from `tutorials/` (MyST), rendered as notebooks, and walked as a
//! guided course in the terminal.
//!
//! This module holds the course's model, not a front end: [`Course`] answers the REPL's
//! course commands (`:chapter`, `:next`, `:check`, …) with [`Action`]s — text to print, code
//! to run — and records verdicts and progress. It runs nothing and knows no terminal; the
//! REPL carries out the actions through the engine, and `ferrolab tutorial --verify` and
//! `ferrolab notebooks` use the same chapters.

pub mod chapter;
pub mod myst;
pub mod notebook;
pub mod progress;
pub mod terminal;
pub mod tex;

use std::collections::HashSet;
use std::path::PathBuf;

use chapter::{Chapter, Step};
use progress::Progress;

/// The course commands and what they do, for `:help`.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        ":chapter [N]",
        "list the chapters, or open one (3.1, ch03-1, 6) where you left it",
    ),
    (":next / :back", "move to the next or previous step"),
    (":run", "run the code of this step"),
    (
        ":edit",
        "start the exercise's code at the prompt, to change and run",
    ),
    (":check", "check your answer to the current exercise"),
    (
        ":hint / :solution",
        "a nudge for the current exercise / its solution",
    ),
    (
        ":replay",
        "run this chapter's code up to here again (after a restart)",
    ),
    (":progress", "steps reached and exercises solved, per chapter"),
];

/// What the front end must do for a course command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Print this (already rendered) text.
    Say(String),
    /// Run this code as a cell; a check's result is passed to [`Course::record`].
    Run(String),
    /// Put this code at the prompt for the learner to edit.
    Edit(String),
}

pub struct Course {
    chapters: Vec<Chapter>,
    progress: Progress,
    path: PathBuf,
    open: Option<usize>,
    /// (chapter, step) pairs run in this session.
    ran: HashSet<(usize, usize)>,
    colour: bool,
}

impl Course {
    /// The built-in chapters with the progress saved at `path`; the note reports a
    /// damaged progress file.
    pub fn load(path: PathBuf, colour: bool) -> (Course, Option<String>) {
        let chapters = chapter::builtin()
            .iter()
            .filter_map(|(slug, _)| Chapter::builtin(slug)?.ok())
            .collect();
        Course::with_chapters(chapters, path, colour)
    }

    /// A course over `chapters` (in order) with the progress saved at `path`.
    pub fn with_chapters(chapters: Vec<Chapter>, path: PathBuf, colour: bool) -> (Course, Option<String>) {
        let (progress, note) = Progress::load(&path);
        let course = Course {
            chapters,
            progress,
            path,
            open: None,
            ran: HashSet::new(),
            colour,
        };
        (course, note)
    }

    /// Whether `line` is a course command.
    pub fn handles(line: &str) -> bool {
        let word = line.split_whitespace().next().unwrap_or("");
        matches!(
            word,
            ":chapter"
                | ":next"
                | ":back"
                | ":run"
                | ":edit"
                | ":check"
                | ":hint"
                | ":solution"
                | ":replay"
                | ":progress"
        )
    }

    /// The chapter saved as open, if any.
    pub fn saved_chapter(&self) -> Option<&str> {
        self.progress.current.as_deref()
    }

    /// Answers a course command.
    pub fn command(&mut self, line: &str) -> Vec<Action> {
        let mut words = line.trim().splitn(2, char::is_whitespace);
        let (name, arg) = (words.next().unwrap_or(""), words.next().unwrap_or("").trim());
        match name {
            ":chapter" if arg.is_empty() => vec![Action::Say(self.listing())],
            ":chapter" => self.open(arg),
            ":progress" => vec![Action::Say(self.listing())],
            _ => {
                let Some(ch) = self.open else {
                    return vec![Action::Say(
                        "No chapter is open: `:chapter 1` opens the first, `:chapter` lists them.".into(),
                    )];
                };
                match name {
                    ":next" => self.go(ch, 1),
                    ":back" => self.go(ch, -1),
                    ":run" => self.run(ch),
                    ":replay" => self.replay(ch),
                    _ => self.exercise_command(ch, name),
                }
            }
        }
    }

    /// Opens chapter `which` at its saved step.
    pub fn open(&mut self, which: &str) -> Vec<Action> {
        let Some(index) = self.find(which) else {
            let names: Vec<&str> = self.chapters.iter().map(|c| c.slug.as_str()).collect();
            return vec![Action::Say(format!(
                "No chapter {which:?}; the chapters are {}.",
                names.join(", ")
            ))];
        };
        self.open = Some(index);
        let slug = self.chapters[index].slug.clone();
        self.progress.current = Some(slug.clone());
        let steps = self.chapters[index].steps().len();
        let step = self.progress.chapter(&slug).step.min(steps.saturating_sub(1));
        let mut actions = Vec::new();
        if step > 0 {
            actions.push(Action::Say(format!(
                "Back in {slug} at step {} of {steps}. Variables from an earlier session are gone: `:replay` runs steps 1–{step}'s code again.",
                step + 1
            )));
        }
        actions.extend(self.save_and_show(index, step));
        actions
    }

    /// Reads a check's result bundle (`application/vnd.ferrolab.check+json`) and records a
    /// solved exercise. Returns whether it was a check.
    pub fn record(&mut self, check_json: &str) -> bool {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(check_json) else {
            return false;
        };
        let (Some(id), Some(verdict)) = (value["exercise"].as_str(), value["verdict"].as_str()) else {
            return false;
        };
        if verdict == "correct" {
            if let Some(ch) = self.open {
                let slug = self.chapters[ch].slug.clone();
                self.progress.chapter(&slug).solved.insert(id.to_string());
                let _ = self.progress.save(&self.path);
            }
        }
        true
    }

    fn find(&self, which: &str) -> Option<usize> {
        let which = which.trim().trim_start_matches("ch").replace('.', "-");
        let (major, minor) = which
            .split_once('-')
            .map_or((which.as_str(), None), |(a, b)| (a, Some(b)));
        let slug = match (major.parse::<u32>().ok()?, minor) {
            (m, Some(n)) => format!("ch{m:02}-{n}"),
            (m, None) => format!("ch{m:02}"),
        };
        self.chapters.iter().position(|c| c.slug == slug).or_else(|| {
            self.chapters
                .iter()
                .position(|c| c.slug.starts_with(&format!("{slug}-")))
        })
    }

    fn go(&mut self, ch: usize, delta: isize) -> Vec<Action> {
        let slug = self.chapters[ch].slug.clone();
        let steps = self.chapters[ch].steps();
        let step = self.progress.chapter(&slug).step;
        let target = step as isize + delta;
        if target < 0 {
            return vec![Action::Say("This is the chapter's first step.".into())];
        }
        if target as usize >= steps.len() {
            let next = self
                .chapters
                .get(ch + 1)
                .map(|c| format!(" `:chapter {}` opens the next one.", c.slug));
            return vec![Action::Say(format!("End of {slug}.{}", next.unwrap_or_default()))];
        }
        let mut actions = Vec::new();
        if delta > 0 && matches!(steps[step], Step::Code { .. }) && !self.ran.contains(&(ch, step)) {
            actions.push(Action::Say(
                "(That step's code was not run; later steps may need its variables: `:back` then `:run`.)"
                    .into(),
            ));
        }
        actions.extend(self.save_and_show(ch, target as usize));
        actions
    }

    fn save_and_show(&mut self, ch: usize, step: usize) -> Vec<Action> {
        let slug = self.chapters[ch].slug.clone();
        self.progress.chapter(&slug).step = step;
        let mut actions = Vec::new();
        if let Err(e) = self.progress.save(&self.path) {
            actions.push(Action::Say(format!(
                "(progress not saved to {}: {e})",
                self.path.display()
            )));
        }
        actions.push(Action::Say(self.show(ch, step)));
        actions
    }

    /// One step, rendered with a header line.
    fn show(&self, ch: usize, step: usize) -> String {
        let chapter = &self.chapters[ch];
        let steps = chapter.steps();
        let paint = |text: &str, code: &str| {
            if self.colour {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_string()
            }
        };
        let header = paint(
            &format!("── {} · step {} of {} ──", chapter.slug, step + 1, steps.len()),
            "2",
        );
        let body = match &steps[step] {
            Step::Prose(markdown) => format!(
                "{}\n{}",
                terminal::render(markdown, self.colour),
                paint("(:next)", "2")
            ),
            Step::Code { source, .. } => format!(
                "{}\n{}",
                terminal::render(&format!("```rust\n{source}\n```"), self.colour),
                paint("(:run runs it, :next moves on)", "2")
            ),
            Step::Exercise(i) => {
                let e = &chapter.exercises[*i];
                let solved = self
                    .progress
                    .chapters
                    .get(&chapter.slug)
                    .is_some_and(|p| p.solved.contains(&e.id));
                format!(
                    "{}\n{}\n{}",
                    terminal::render(&format!("```rust\n{}\n```", e.placeholder), self.colour),
                    paint(
                        "Write your version at the prompt (:edit starts from this one), run it, then :check. Stuck? :hint, :solution.",
                        "2"
                    ),
                    if solved { paint("✓ solved before", "32") } else { String::new() }
                )
            }
        };
        format!("{header}\n{}", body.trim_end())
    }

    fn run(&mut self, ch: usize) -> Vec<Action> {
        let slug = &self.chapters[ch].slug;
        let step = self.progress.chapters.get(slug).map_or(0, |p| p.step);
        match &self.chapters[ch].steps()[step] {
            Step::Code { source, .. } => {
                self.ran.insert((ch, step));
                vec![Action::Run(source.clone())]
            }
            Step::Exercise(i) => vec![Action::Run(self.chapters[ch].exercises[*i].placeholder.clone())],
            Step::Prose(_) => vec![Action::Say(
                "This step is prose; nothing to run. `:next` moves on.".into(),
            )],
        }
    }

    /// Runs every code step before the current one (placeholders of exercises included).
    fn replay(&mut self, ch: usize) -> Vec<Action> {
        let slug = self.chapters[ch].slug.clone();
        let step = self.progress.chapter(&slug).step;
        let steps = self.chapters[ch].steps();
        let mut actions = vec![Action::Say(format!("Running the code of steps 1–{step} again…"))];
        for (i, s) in steps.iter().enumerate().take(step) {
            match s {
                Step::Code { source, .. } => {
                    self.ran.insert((ch, i));
                    actions.push(Action::Run(source.clone()));
                }
                Step::Exercise(e) => {
                    actions.push(Action::Run(self.chapters[ch].exercises[*e].placeholder.clone()))
                }
                Step::Prose(_) => {}
            }
        }
        actions
    }

    fn exercise_command(&mut self, ch: usize, name: &str) -> Vec<Action> {
        let chapter = &self.chapters[ch];
        let step = self.progress.chapters.get(&chapter.slug).map_or(0, |p| p.step);
        let steps = chapter.steps();
        let current = steps[..=step.min(steps.len() - 1)]
            .iter()
            .rev()
            .find_map(|s| match s {
                Step::Exercise(i) => Some(&chapter.exercises[*i]),
                _ => None,
            });
        let Some(exercise) = current else {
            return vec![Action::Say(
                "No exercise yet in this chapter: `:next` until one comes.".into(),
            )];
        };
        match name {
            ":check" => vec![Action::Run(exercise.check.clone())],
            ":edit" => vec![Action::Edit(exercise.placeholder.clone())],
            ":hint" => vec![Action::Say(terminal::render(&exercise.hint, self.colour))],
            _ => vec![Action::Say(terminal::render(
                &format!(
                    "```rust\n{}\n```\n\nRun it (`:edit`, paste, or type it), then `:check`.",
                    exercise.solution
                ),
                self.colour,
            ))],
        }
    }

    /// Every chapter with the step reached and exercises solved.
    fn listing(&self) -> String {
        let mut lines = vec!["Chapters (`:chapter N` opens one):".to_string()];
        for (i, chapter) in self.chapters.iter().enumerate() {
            let p = self.progress.chapters.get(&chapter.slug);
            let steps = chapter.steps().len();
            let solved = p.map_or(0, |p| p.solved.len());
            let mark = if Some(i) == self.open { "▶" } else { " " };
            lines.push(format!(
                "{mark} {:<7} {:<60} step {:>2}/{steps:<3} exercises {solved}/{}",
                chapter.slug,
                chapter.title,
                p.map_or(0, |p| p.step + 1),
                chapter.exercises.len()
            ));
        }
        lines.join("\n")
    }
}

/// The project's root for `tutorials/` and `notebooks/`: the current directory when it has
/// `tutorials/`, else the workspace this binary was built from.
pub fn project_root() -> PathBuf {
    let here = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if here.join("tutorials").is_dir() {
        return here;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Reads every `tutorials/ch*.md` under `root` from disk, in book order.
pub fn read_chapters(root: &std::path::Path) -> anyhow::Result<Vec<Chapter>> {
    let dir = root.join("tutorials");
    let mut files: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let slug = name.strip_suffix(".md")?;
            (slug.starts_with("ch") && !slug.contains('.')).then(|| (slug.to_string(), e.path()))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|(slug, path)| {
            let text =
                std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok(Chapter::parse(&slug, &format!("tutorials/{slug}.md"), &text)?)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chapter::tests::TWO_EXERCISES;

    fn said(actions: &[Action]) -> String {
        actions
            .iter()
            .filter_map(|a| match a {
                Action::Say(t) => Some(t.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn course(path: &std::path::Path) -> Course {
        let chapters = vec![
            Chapter::parse("ch09", "t.md", TWO_EXERCISES).unwrap(),
            Chapter::parse("ch10-1", "u.md", TWO_EXERCISES).unwrap(),
        ];
        Course::with_chapters(chapters, path.to_path_buf(), false).0
    }

    #[test]
    fn walking_running_checking_and_resuming() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("course.json");
        let mut c = course(&path);
        assert!(said(&c.command(":next")).contains("No chapter is open"));
        assert!(said(&c.command(":chapter 9")).starts_with("── ch09 · step 1 of"));
        let shown = said(&c.command(":next"));
        assert!(
            shown.contains("let x = 2;") && shown.contains(":run runs it"),
            "{shown}"
        );
        assert_eq!(c.command(":run"), vec![Action::Run("let x = 2;".into())]);
        assert!(said(&c.command(":hint")).contains("No exercise yet"));
        c.command(":next");
        let shown = said(&c.command(":next"));
        assert!(shown.contains("fn double(x: i32) -> i32 { todo!() }"), "{shown}");
        let Action::Run(check) = &c.command(":check")[0] else {
            panic!("a check runs")
        };
        assert!(check.starts_with("exercises::check(\"double\""));
        assert_eq!(
            c.command(":edit"),
            vec![Action::Edit("fn double(x: i32) -> i32 { todo!() }".into())]
        );
        assert!(said(&c.command(":solution")).contains("x * 2"));
        assert!(c.record(r#"{"exercise":"double","verdict":"incorrect","reason":"r"}"#));
        assert!(!said(&c.command(":progress")).contains("exercises 1/2"));
        c.record(r#"{"exercise":"double","verdict":"correct","reason":""}"#);
        assert!(said(&c.command(":progress")).contains("exercises 1/2"));

        // A new session finds the chapter, the step and the solved exercise.
        let mut again = course(&path);
        assert_eq!(again.saved_chapter(), Some("ch09"));
        let reopened = said(&again.open("ch09"));
        assert!(reopened.contains("Back in ch09 at step 4"), "{reopened}");
        assert!(reopened.contains("✓ solved before"), "{reopened}");
        let replay = again.command(":replay");
        assert_eq!(replay[1], Action::Run("let x = 2;".into()));
        assert!(said(&again.command(":chapter 10.1")).contains("ch10-1 · step 1"));
        assert!(said(&again.command(":chapter 7")).contains("No chapter \"7\""));
    }

    #[test]
    fn the_end_of_a_chapter_points_to_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = course(&dir.path().join("p.json"));
        c.command(":chapter ch09");
        let mut last = String::new();
        for _ in 0..20 {
            last = said(&c.command(":next"));
        }
        assert!(
            last.contains("End of ch09. `:chapter ch10-1` opens the next one."),
            "{last}"
        );
        assert!(said(&c.command(":back")).contains("step"));
    }
}
