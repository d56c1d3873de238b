//! Compile errors drawn on the learner's own cell, as rustc draws them on a file:
//!
//! ```text
//! error[E0308]: mismatched types
//!  --> cell:1:21
//!   |
//! 1 | let epochs: usize = "10";
//!   |                     ^^^^ expected `usize`, found `&str`
//!   |             ----- expected due to this
//! ```
//!
//! evcxr maps rustc's spans from its generated crate back to the cell (and drops those in
//! code it generated); this module only draws them, so nothing of the generated crate shows.

/// One underlined range, on cell lines (1-based) and columns (1-based chars, end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub line: usize,
    pub start: usize,
    pub end_line: usize,
    pub end: usize,
    pub text: String,
    pub primary: bool,
}

/// A compile error in the learner's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Option<String>,
    pub message: String,
    pub labels: Vec<Label>,
    /// `help: …` / `note: …` lines without a place in the cell.
    pub notes: Vec<String>,
}

/// The report's lines for `cell` (the whole cell as the learner typed it).
pub fn render(d: &Diagnostic, cell: &str) -> Vec<String> {
    let head = match &d.code {
        Some(code) => format!("error[{code}]: {}", d.message),
        None => format!("error: {}", d.message),
    };
    let mut out = vec![head];
    let lines: Vec<&str> = cell.lines().collect();
    let merged = merge_same_place(&d.labels);
    let mut labels: Vec<&Label> = merged
        .iter()
        .filter(|l| l.line >= 1 && l.line <= lines.len())
        .collect();
    labels.sort_by_key(|l| (l.line, !l.primary));
    let width = labels.iter().map(|l| l.line).max().unwrap_or(1).to_string().len();
    let pad = " ".repeat(width);
    if let Some(first) = labels.iter().find(|l| l.primary).or(labels.first()) {
        out.push(format!("{pad}--> cell:{}:{}", first.line, first.start));
        out.push(format!("{pad} |"));
    }
    let mut shown_line = 0;
    for label in &labels {
        let source = lines[label.line - 1];
        if label.line != shown_line {
            out.push(format!("{:>width$} | {source}", label.line));
            shown_line = label.line;
        }
        let chars = source.chars().count();
        let start = label.start.clamp(1, chars + 1);
        let end = if label.end_line == label.line {
            label.end.clamp(start + 1, chars.max(start) + 1)
        } else {
            chars.max(start) + 1
        };
        let mark = if label.primary { "^" } else { "-" };
        let text = if label.text.is_empty() {
            String::new()
        } else {
            format!(" {}", label.text)
        };
        out.push(format!(
            "{pad} | {}{}{text}",
            " ".repeat(start - 1),
            mark.repeat(end - start)
        ));
    }
    for note in &d.notes {
        out.push(format!("{pad} = {note}"));
    }
    out
}

/// An unlabelled primary span and a help at the same place are one mark with the help's
/// words (rustc's "expected `;`" with "add `;` here").
fn merge_same_place(labels: &[Label]) -> Vec<Label> {
    let same =
        |a: &Label, b: &Label| (a.line, a.start, a.end_line, a.end) == (b.line, b.start, b.end_line, b.end);
    let mut out: Vec<Label> = Vec::new();
    for label in labels {
        match out.iter_mut().find(|o| same(o, label)) {
            Some(o) if o.text.is_empty() => {
                o.text = label.text.clone();
                o.primary |= label.primary;
            }
            Some(o) if label.text.is_empty() => o.primary |= label.primary,
            _ => out.push(label.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_the_cell_line_with_rustcs_labels() {
        let d = Diagnostic {
            code: Some("E0308".into()),
            message: "mismatched types".into(),
            labels: vec![
                Label {
                    line: 2,
                    start: 13,
                    end_line: 2,
                    end: 18,
                    text: "expected due to this".into(),
                    primary: false,
                },
                Label {
                    line: 2,
                    start: 21,
                    end_line: 2,
                    end: 25,
                    text: "expected `usize`, found `&str`".into(),
                    primary: true,
                },
            ],
            notes: vec!["help: try `.parse()`".into()],
        };
        let cell = "let a = 1;\nlet epochs: usize = \"10\";";
        assert_eq!(
            render(&d, cell),
            vec![
                "error[E0308]: mismatched types",
                " --> cell:2:21",
                "  |",
                "2 | let epochs: usize = \"10\";",
                "  |                     ^^^^ expected `usize`, found `&str`",
                "  |             ----- expected due to this",
                "  = help: try `.parse()`",
            ]
        );
    }

    #[test]
    fn a_help_at_the_errors_place_labels_its_mark() {
        let at = |text: &str, primary| Label {
            line: 1,
            start: 10,
            end_line: 1,
            end: 11,
            text: text.into(),
            primary,
        };
        let d = Diagnostic {
            code: None,
            message: "expected `;`, found keyword `let`".into(),
            labels: vec![at("", true), at("help: add `;` here", false)],
            notes: vec![],
        };
        assert_eq!(
            render(&d, "let a = 1\nlet b = 2;"),
            vec![
                "error: expected `;`, found keyword `let`",
                " --> cell:1:10",
                "  |",
                "1 | let a = 1",
                "  |          ^ help: add `;` here",
            ]
        );
    }

    #[test]
    fn without_a_place_only_the_message() {
        let d = Diagnostic {
            code: None,
            message: "expected `;`".into(),
            labels: vec![],
            notes: vec![],
        };
        assert_eq!(render(&d, "x"), vec!["error: expected `;`"]);
    }
}
