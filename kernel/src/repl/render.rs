//! Shows a cell's events in a terminal: streams and results as text, displays as their
//! `text/plain` art with the SVG/PNG saved to a per-session folder, live displays redrawn
//! in place, errors in red.
//!
//! Colour is off when stdout is not a terminal or `NO_COLOR` is set. In-place redraw needs a
//! terminal too; elsewhere an update is printed again below. A progress display (the
//! library's `Progress`, e.g. `fit`'s batch bar) becomes an indicatif bar at the bottom of
//! the terminal, with the cell's other output printed above it; without a terminal only its
//! first state is printed.

use crate::engine::{Bundle, Event};
use base64::Engine as _;
use ferrolab::display::{mime::PROGRESS, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

pub struct Renderer<W: Write> {
    out: W,
    colour: bool,
    live: bool,
    images_dir: PathBuf,
    saved: usize,
    /// The display printed last, and how many lines it took: only it can be redrawn in place.
    last_display: Option<(String, usize)>,
    /// Draw progress displays as indicatif bars (stdout is a terminal).
    bars: bool,
    /// The progress display shown as a bar, by display id.
    bar: Option<(String, ProgressBar)>,
}

impl Renderer<std::io::Stdout> {
    pub fn stdout(images_dir: PathBuf) -> Self {
        let tty = std::io::stdout().is_terminal();
        let colour = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let mut renderer = Renderer::new(std::io::stdout(), colour, tty, images_dir);
        renderer.bars = tty;
        renderer
    }
}

impl<W: Write> Renderer<W> {
    pub fn new(out: W, colour: bool, live: bool, images_dir: PathBuf) -> Self {
        Self {
            out,
            colour,
            live,
            images_dir,
            saved: 0,
            last_display: None,
            bars: false,
            bar: None,
        }
    }

    pub fn event(&mut self, event: Event) {
        let event = match self.progress(event) {
            Some(event) => event,
            None => return,
        };
        let shown = match event {
            Event::Stream { name, text } => {
                self.last_display = None;
                if name == "stderr" {
                    self.paint(&text, "33")
                } else {
                    text
                }
            }
            Event::Result(bundle) | Event::Page(bundle) => {
                self.last_display = None;
                let mut text = self.bundle_text(&bundle);
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                text
            }
            Event::Display { id, bundle } => {
                let text = self.bundle_text(&bundle);
                let lines = text.lines().count();
                self.last_display = id.map(|id| (id, lines));
                text
            }
            Event::UpdateDisplay { id, bundle } => {
                let text = self.bundle_text(&bundle);
                let lines = text.lines().count();
                let mut shown = String::new();
                match &self.last_display {
                    // Move up over the old rendering and clear to the end of the screen.
                    Some((last, n)) if *last == id && self.live => {
                        shown.push_str(&format!("\x1b[{n}F\x1b[J"))
                    }
                    _ => {}
                }
                shown.push_str(&text);
                self.last_display = Some((id, lines));
                shown
            }
            Event::Error {
                ename,
                evalue,
                traceback,
            } => {
                self.last_display = None;
                // The traceback is the full report (rustc's spans for a compile error);
                // without one, `ename: evalue` is all there is.
                let mut lines = traceback.into_iter().filter(|l| !l.trim().is_empty());
                let first = lines.next().unwrap_or(format!("{ename}: {evalue}"));
                let mut text = self.paint(&format!("{first}\n"), "1;31");
                for line in lines {
                    text.push_str(&line);
                    text.push('\n');
                }
                text
            }
            Event::ClearOutput { .. } => String::new(),
        };
        // Output goes above the bar: indicatif clears it, we print, it redraws.
        let bar = self.bar.as_ref().map(|(_, bar)| bar.clone());
        let mut write = || {
            let _ = self.out.write_all(shown.as_bytes());
            let _ = self.out.flush();
        };
        match bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Takes care of progress displays; hands back every other event.
    ///
    /// With bars on, a progress display opens or moves the indicatif bar. Without, its
    /// first state prints as text and later updates are dropped (a log would fill up).
    fn progress(&mut self, event: Event) -> Option<Event> {
        let (id, bundle, update) = match &event {
            Event::Display { id: Some(id), bundle } => (id, bundle, false),
            Event::UpdateDisplay { id, bundle } => (id, bundle, true),
            _ => return Some(event),
        };
        let Some(progress) = bundle
            .get(PROGRESS)
            .and_then(|v| v.as_str())
            .and_then(|json| serde_json::from_str::<Progress>(json).ok())
        else {
            return Some(event);
        };
        if !self.bars {
            return (!update).then_some(event);
        }
        let bar = match &self.bar {
            Some((shown, bar)) if shown == id => bar.clone(),
            _ => {
                self.finish_bar();
                let bar = ProgressBar::with_draw_target(Some(progress.total), ProgressDrawTarget::stdout());
                let template = if self.colour {
                    "{prefix} [{bar:30.cyan/blue}] {pos}/{len} {msg}"
                } else {
                    "{prefix} [{bar:30}] {pos}/{len} {msg}"
                };
                let style = ProgressStyle::with_template(template)
                    .expect("a valid template")
                    .progress_chars("=> ");
                bar.set_style(style);
                self.bar = Some((id.clone(), bar.clone()));
                bar
            }
        };
        self.last_display = None;
        bar.set_prefix(progress.label);
        bar.set_length(progress.total);
        bar.set_position(progress.done);
        bar.set_message(progress.message);
        None
    }

    /// Leaves the bar drawn in its last state; later output goes below it.
    fn finish_bar(&mut self) {
        if let Some((_, bar)) = self.bar.take() {
            bar.abandon();
        }
    }

    /// The terminal form of a bundle: its `text/plain`, plus the path of each image saved.
    fn bundle_text(&mut self, bundle: &Bundle) -> String {
        let mut text = bundle
            .get("text/plain")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        for (mime, ext) in [("image/svg+xml", "svg"), ("image/png", "png")] {
            if let Some(content) = bundle.get(mime).and_then(|v| v.as_str()) {
                match self.save(content, mime, ext) {
                    Ok(path) => text.push_str(&self.paint(&format!("[{ext}: {}]\n", path.display()), "2")),
                    Err(e) => text.push_str(&format!("[could not save the {ext}: {e}]\n")),
                }
            }
        }
        if text.is_empty() {
            if let Some(html) = bundle.get("text/html").and_then(|v| v.as_str()) {
                text = format!("{html}\n");
            }
        }
        text
    }

    fn save(&mut self, content: &str, mime: &str, ext: &str) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(&self.images_dir)?;
        self.saved += 1;
        let path = self.images_dir.join(format!("display-{:03}.{ext}", self.saved));
        let bytes = if mime == "image/png" {
            base64::engine::general_purpose::STANDARD
                .decode(content.trim())
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?
        } else {
            content.as_bytes().to_vec()
        };
        let tmp = path.with_extension(format!("{ext}.tmp"));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    /// Whether output is styled with ANSI colours.
    pub fn colour(&self) -> bool {
        self.colour
    }

    pub fn paint(&self, text: &str, code: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Forgets the last display so nothing printed from outside is overwritten, and ends
    /// the progress bar (at the end of a cell).
    pub fn break_live(&mut self) {
        self.last_display = None;
        self.finish_bar();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::plain;

    fn render(events: Vec<Event>, live: bool) -> (String, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let mut buf = Vec::new();
        let mut r = Renderer::new(&mut buf, false, live, dir.path().join("imgs"));
        for e in events {
            r.event(e);
        }
        (String::from_utf8(buf).unwrap(), dir)
    }

    #[test]
    fn displays_show_text_art_and_save_images() {
        let mut bundle = plain("⣿⣿ art");
        bundle.insert("image/svg+xml".into(), "<svg/>".into());
        let (out, dir) = render(
            vec![Event::Display {
                id: Some("a".into()),
                bundle,
            }],
            false,
        );
        assert!(out.starts_with("⣿⣿ art\n[svg: "), "{out}");
        let saved = dir.path().join("imgs/display-001.svg");
        assert_eq!(std::fs::read_to_string(saved).unwrap(), "<svg/>");
    }

    #[test]
    fn updates_redraw_in_place_only_when_live_and_last() {
        let events = || {
            vec![
                Event::Display {
                    id: Some("a".into()),
                    bundle: plain("one\ntwo"),
                },
                Event::UpdateDisplay {
                    id: "a".into(),
                    bundle: plain("three\nfour"),
                },
            ]
        };
        let (live, _d) = render(events(), true);
        assert_eq!(live, "one\ntwo\n\x1b[2F\x1b[Jthree\nfour\n");
        let (plain_out, _d) = render(events(), false);
        assert_eq!(plain_out, "one\ntwo\nthree\nfour\n");
        let mut interleaved = events();
        interleaved.insert(1, Event::stdout("between\n"));
        let (out, _d) = render(interleaved, true);
        assert!(
            !out.contains("\x1b["),
            "a display with text after it is not redrawn: {out:?}"
        );
    }

    #[test]
    fn without_a_terminal_a_progress_bar_prints_its_first_state_only() {
        let progress = |done: u64| {
            let mut bundle = plain(format!("epoch 1/1 [bar] {done}/4"));
            let json = format!(r#"{{"label":"epoch 1/1","done":{done},"total":4,"message":""}}"#);
            bundle.insert(PROGRESS.into(), json.into());
            bundle
        };
        let events = vec![
            Event::Display {
                id: Some("p".into()),
                bundle: progress(1),
            },
            Event::stdout("epoch 1/1: loss=0.1\n"),
            Event::UpdateDisplay {
                id: "p".into(),
                bundle: progress(4),
            },
        ];
        let (text, _dir) = render(events, false);
        assert_eq!(text, "epoch 1/1 [bar] 1/4\nepoch 1/1: loss=0.1\n");
    }

    #[test]
    fn errors_show_the_traceback_or_name_and_value() {
        let error = Event::Error {
            ename: "Error".into(),
            evalue: "cannot find value `x`".into(),
            traceback: vec![
                "error[E0425]: cannot find value `x` in this scope".into(),
                "  --> 1:1".into(),
            ],
        };
        let (out, _d) = render(vec![error], false);
        assert_eq!(
            out,
            "error[E0425]: cannot find value `x` in this scope\n  --> 1:1\n"
        );
        let bare = Event::Error {
            ename: "Panic".into(),
            evalue: "boom".into(),
            traceback: vec![],
        };
        assert_eq!(render(vec![bare], false).0, "Panic: boom\n");
    }
}
