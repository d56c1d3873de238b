//! Checked exercises for the chapters: a [`Check`] says Correct, Incorrect (and why), or Not
//! attempted, about the learner's own function or value in the live session.
//!
//! Every exercise in `tutorials/` asks the learner to write a function whose placeholder body
//! is `todo!()`. The chapter's check cell passes that function to a check here, e.g.
//! `exercises::ch03_1::conv_output_size(conv_output_size)`. [`check`] runs the learner's code
//! with panics caught: `todo!()` still in place means Not attempted, any other panic is
//! Incorrect with the panic's message, and a wrong result is Incorrect with the input, what
//! was expected and what came. Expected values are computed independently of the learner's
//! code, from the library or a formula, never typed in by hand.
//!
//! Checks take the learner's function as a `fn` pointer, not `impl Fn`: a generic check would
//! be compiled again inside every check cell (30 s for one that trains a CNN), a pointer's
//! check once, with the library.
//!
//! A check shows itself as rich output in notebooks (HTML), as one line of text in the
//! terminal, and as [`mime::CHECK`] JSON that the guided course reads to record progress.
//!
//! This module knows nothing of notebooks or the course; it only judges and displays.

pub mod ch01;
pub mod ch02;
pub mod ch03_1;
pub mod ch03_2;
pub mod ch03_3;
pub mod ch03_4;
pub mod ch04_1;
pub mod ch04_2;
pub mod ch04_3;
pub mod ch05;
pub mod ch06;
pub mod ch07;

use std::fmt::{self, Debug, Display};
use std::panic::{self, AssertUnwindSafe};

use crate::display::{evcxr_print, Displayable, MimeBundle};

/// MIME types a check is shown as (besides HTML and plain text).
pub mod mime {
    /// `{"exercise": id, "verdict": "correct" | "incorrect" | "not_attempted", "reason": …}`.
    pub const CHECK: &str = "application/vnd.ferrolab.check+json";
}

/// What a check concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Correct,
    /// Why not: the input, what was expected, what came.
    Incorrect(String),
    /// The placeholder (`todo!()`) is still there.
    NotAttempted,
}

/// One exercise's verdict, as a displayable value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub exercise: String,
    pub verdict: Verdict,
}

impl Check {
    pub fn is_correct(&self) -> bool {
        self.verdict == Verdict::Correct
    }

    /// `correct`, `incorrect` or `not_attempted`.
    pub fn verdict_name(&self) -> &'static str {
        match self.verdict {
            Verdict::Correct => "correct",
            Verdict::Incorrect(_) => "incorrect",
            Verdict::NotAttempted => "not_attempted",
        }
    }

    /// Shows the check as a cell's result in evcxr.
    pub fn evcxr_display(&self) {
        evcxr_print(&self.mime_bundle());
    }
}

impl Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.verdict {
            Verdict::Correct => write!(f, "✓ Correct ({})", self.exercise),
            Verdict::Incorrect(reason) => write!(f, "✗ Incorrect ({}): {reason}", self.exercise),
            Verdict::NotAttempted => write!(
                f,
                "○ Not attempted ({}): replace the todo!() in the exercise cell, run it, then check again",
                self.exercise
            ),
        }
    }
}

impl Displayable for Check {
    fn mime_bundle(&self) -> MimeBundle {
        let (colour, mark, title, detail) = match &self.verdict {
            Verdict::Correct => ("#1a7f37", "✓", "Correct", String::new()),
            Verdict::Incorrect(reason) => ("#cf222e", "✗", "Incorrect", reason.clone()),
            Verdict::NotAttempted => (
                "#6e7781",
                "○",
                "Not attempted",
                "Replace the todo!() in the exercise cell, run it, then run this check again.".into(),
            ),
        };
        let html = format!(
            "<div style=\"border-left:4px solid {colour};padding:4px 10px\">\
             <b style=\"color:{colour}\">{mark} {title}</b> <code>{}</code>{}</div>",
            escape_html(&self.exercise),
            if detail.is_empty() {
                String::new()
            } else {
                format!("<div>{}</div>", escape_html(&detail))
            }
        );
        let json = serde_json::json!({
            "exercise": self.exercise,
            "verdict": self.verdict_name(),
            "reason": match &self.verdict { Verdict::Incorrect(r) => r.as_str(), _ => "" },
        });
        MimeBundle::new()
            .with(crate::display::mime::HTML, html)
            .with(mime::CHECK, json.to_string())
            .with(crate::display::mime::PLAIN, self.to_string())
    }
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Judges exercise `exercise` by running `judge`, which calls the learner's code and returns
/// `Err(reason)` at the first wrong answer.
///
/// Panics inside `judge` are caught and kept off the output: `todo!()` (the untouched
/// placeholder) is Not attempted, any other panic is Incorrect with its message.
pub fn check(exercise: &str, judge: impl FnOnce() -> Result<(), String>) -> Check {
    let verdict = match quietly(judge) {
        Ok(Ok(())) => Verdict::Correct,
        Ok(Err(reason)) => Verdict::Incorrect(reason),
        Err(message) if message.starts_with("not yet implemented") => Verdict::NotAttempted,
        Err(message) => Verdict::Incorrect(format!("your code panicked: {message}")),
    };
    Check {
        exercise: exercise.to_string(),
        verdict,
    }
}

/// Runs `f` with the panic hook silenced; a panic comes back as its message.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(hook);
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

/// `Err` naming the input, what was expected and what came, unless `got == want`.
pub fn expect_eq<T: PartialEq + Debug>(input: impl Display, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("for {input}: expected {want:?}, got {got:?}"))
    }
}

/// `Err` unless every `got[i]` is within `tolerance` of `want[i]` (and the lengths agree).
pub fn expect_close(input: impl Display, got: &[f64], want: &[f64], tolerance: f64) -> Result<(), String> {
    if got.len() != want.len() {
        return Err(format!(
            "for {input}: expected {} numbers, got {}",
            want.len(),
            got.len()
        ));
    }
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        // Written so that a NaN is never close.
        let close = (g - w).abs() <= tolerance;
        if !close {
            return Err(format!(
                "for {input}: at index {i} expected {w:.6}, got {g:.6} (tolerance {tolerance:e})"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The reason of an Incorrect verdict; any other verdict fails the test.
    pub(crate) fn incorrect(c: Check) -> String {
        match c.verdict {
            Verdict::Incorrect(reason) => reason,
            other => panic!("expected Incorrect, got {other:?}"),
        }
    }

    fn square(x: i32) -> i32 {
        x * x
    }

    #[test]
    fn verdicts_follow_the_learners_code() {
        let judge = |f: fn(i32) -> i32| check("square", move || expect_eq("x = 3", f(3), 9));
        assert_eq!(judge(square).verdict, Verdict::Correct);
        let wrong = judge(|x| x + x).verdict;
        assert_eq!(wrong, Verdict::Incorrect("for x = 3: expected 9, got 6".into()));
        assert_eq!(judge(|_| todo!()).verdict, Verdict::NotAttempted);
        let Verdict::Incorrect(reason) = judge(|_| panic!("index out of bounds")).verdict else {
            panic!("a panic is incorrect")
        };
        assert!(reason.contains("index out of bounds"), "{reason}");
    }

    #[test]
    fn a_check_displays_as_html_json_and_text() {
        let bundle = check("e", || Err("for x = <1>: expected 2, got 3".into())).mime_bundle();
        assert!(bundle
            .get(crate::display::mime::HTML)
            .unwrap()
            .contains("&lt;1&gt;"));
        let json: serde_json::Value = serde_json::from_str(bundle.get(mime::CHECK).unwrap()).unwrap();
        assert_eq!(json["verdict"], "incorrect");
        assert_eq!(json["exercise"], "e");
        assert!(bundle
            .get(crate::display::mime::PLAIN)
            .unwrap()
            .starts_with("✗ Incorrect (e)"));
    }

    #[test]
    fn closeness_names_the_first_bad_index() {
        assert!(expect_close("v", &[1.0, 2.0], &[1.0, 2.0 + 1e-9], 1e-6).is_ok());
        let err = expect_close("v", &[1.0, 2.5], &[1.0, 2.0], 1e-6).unwrap_err();
        assert!(err.contains("index 1"), "{err}");
        assert!(expect_close("v", &[1.0], &[1.0, 2.0], 1e-6).is_err());
    }
}
