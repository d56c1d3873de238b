//! [`Progress`]: a progress bar as a display, so long work in a cell shows how far it is.
//!
//! Its bundle carries three renderings: JSON under [`mime::PROGRESS`] for front ends that
//! draw a native bar (the terminal REPL), an HTML `<progress>` element for notebooks, and a
//! text bar for everything else. Update it in place through a
//! [`DisplayHandle`](super::DisplayHandle), throttled.

use serde::{Deserialize, Serialize};

use super::{mime, Displayable, MimeBundle};

/// How far some work is: `done` of `total` steps, with a label before the bar and a
/// message after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub label: String,
    pub done: u64,
    pub total: u64,
    pub message: String,
}

/// Width of the text bar, in characters.
const TEXT_BAR: usize = 30;

impl Progress {
    /// The text rendering: `label [=========>          ] 12/40 message`.
    pub fn text(&self) -> String {
        let total = self.total.max(1);
        let filled = (self.done.min(total) as usize * TEXT_BAR) / total as usize;
        let bar: String = (0..TEXT_BAR)
            .map(|i| match i.cmp(&filled) {
                std::cmp::Ordering::Less => '=',
                std::cmp::Ordering::Equal if filled < TEXT_BAR => '>',
                _ => ' ',
            })
            .collect();
        format!(
            "{} [{bar}] {}/{} {}",
            self.label, self.done, self.total, self.message
        )
        .trim_end()
        .to_string()
    }
}

impl Displayable for Progress {
    fn mime_bundle(&self) -> MimeBundle {
        let json = serde_json::to_string(self).expect("a Progress serialises");
        let html = format!(
            "<div style=\"font-family:monospace\">{} <progress value=\"{}\" max=\"{}\" style=\"width:30ch\"></progress> {}/{} {}</div>",
            escape(&self.label),
            self.done,
            self.total.max(1),
            self.done,
            self.total,
            escape(&self.message)
        );
        MimeBundle::new()
            .with(mime::PROGRESS, json)
            .with(mime::HTML, html)
            .with(mime::PLAIN, self.text())
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(done: u64, total: u64) -> Progress {
        Progress {
            label: "epoch 1/2".into(),
            done,
            total,
            message: "loss 0.5".into(),
        }
    }

    #[test]
    fn text_bar_fills_in_proportion() {
        assert_eq!(
            at(0, 10).text(),
            format!("epoch 1/2 [>{}] 0/10 loss 0.5", " ".repeat(29))
        );
        assert_eq!(
            at(5, 10).text(),
            format!("epoch 1/2 [{}>{}] 5/10 loss 0.5", "=".repeat(15), " ".repeat(14))
        );
        assert_eq!(
            at(10, 10).text(),
            format!("epoch 1/2 [{}] 10/10 loss 0.5", "=".repeat(30))
        );
    }

    #[test]
    fn bundle_round_trips_the_json_and_escapes_html() {
        let mut p = at(3, 4);
        p.message = "<b>".into();
        let bundle = p.mime_bundle();
        let back: Progress = serde_json::from_str(bundle.get(mime::PROGRESS).unwrap()).unwrap();
        assert_eq!(back, p);
        let html = bundle.get(mime::HTML).unwrap();
        assert!(html.contains("<progress value=\"3\" max=\"4\""), "{html}");
        assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"), "{html}");
        assert_eq!(bundle.mimes().last(), Some(&mime::PLAIN));
    }
}
