//! Progress observers: how a front end watches training without `fit` knowing the front end.
//!
//! `fit` calls an [`Observer`] at the start, after every batch, after every epoch and at
//! the end. This file offers [`Silent`], [`TextProgress`] (one line per epoch, plus a
//! batch progress bar when a front end shows displays) and [`LiveCurves`] (a notebook
//! display redrawn at most once per interval, final state always shown). The `ferrolab
//! train` command draws its own terminal bars.

use std::io::Write;
use std::time::{Duration, Instant};

use super::history::{EpochLogs, History};
use crate::display::{display, DisplayHandle, Displayable, MimeBundle, Progress};
use crate::plot::Curves;

/// The size of a run, known before the first batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub epochs: usize,
    pub batches_per_epoch: usize,
    pub train_items: usize,
    /// 0 without validation.
    pub val_items: usize,
}

/// Where training stands after a batch; loss and accuracy are the epoch's running means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchProgress {
    /// From 1.
    pub epoch: usize,
    pub epochs: usize,
    /// From 1.
    pub batch: usize,
    pub batches: usize,
    pub loss: f64,
    pub accuracy: f64,
    /// Since the epoch started.
    pub elapsed: Duration,
}

/// Receives training progress; every method does nothing unless overridden.
pub trait Observer {
    fn on_train_begin(&mut self, _plan: &Plan) {}
    fn on_batch_end(&mut self, _progress: &BatchProgress) {}
    fn on_epoch_end(&mut self, _logs: &EpochLogs, _history: &History) {}
    fn on_train_end(&mut self, _history: &History) {}
}

/// Shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Observer for Silent {}

/// One line per epoch, `epoch 2/5: loss=0.3120 accuracy=0.9104 … (4.2 s)`, and one at the end.
///
/// Inside a notebook or the REPL it also shows the running epoch as a [`Progress`] display
/// (batches done, running loss and accuracy), redrawn at most every [`BAR_INTERVAL`].
pub struct TextProgress {
    out: Box<dyn Write>,
    epochs: usize,
    started: Instant,
    /// Whether to show the batch progress display.
    bar: bool,
    handle: Option<DisplayHandle>,
    last: Option<Progress>,
}

/// How often the batch progress display is redrawn at most.
pub const BAR_INTERVAL: Duration = Duration::from_millis(200);

impl TextProgress {
    /// Writes to stdout, with the progress display when running under a ferrolab front end
    /// (a cell's runtime, where evcxr sets `EVCXR_IS_RUNTIME`); a plain program gets lines only.
    pub fn new() -> Self {
        Self::to(Box::new(std::io::stdout())).with_bar(std::env::var_os("EVCXR_IS_RUNTIME").is_some())
    }

    /// Writes to any sink (a file, a buffer in tests), without the progress display.
    pub fn to(out: Box<dyn Write>) -> Self {
        TextProgress {
            out,
            epochs: 0,
            started: Instant::now(),
            bar: false,
            handle: None,
            last: None,
        }
    }

    /// Shows (or not) the batch progress display.
    pub fn with_bar(mut self, bar: bool) -> Self {
        self.bar = bar;
        self
    }

    fn line(&mut self, text: &str) {
        // Progress text is best effort: a closed stdout must not stop training.
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }
}

impl Default for TextProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Observer for TextProgress {
    fn on_train_begin(&mut self, plan: &Plan) {
        self.epochs = plan.epochs;
        self.started = Instant::now();
        self.handle = None;
        self.last = None;
    }

    fn on_batch_end(&mut self, p: &BatchProgress) {
        if !self.bar {
            return;
        }
        let progress = Progress {
            label: format!("epoch {}/{}", p.epoch, p.epochs),
            done: p.batch as u64,
            total: p.batches as u64,
            message: format!("loss {:.4} accuracy {:.4}", p.loss, p.accuracy),
        };
        match &mut self.handle {
            None => self.handle = Some(display(&progress)),
            Some(h) => {
                h.update_throttled(&progress, BAR_INTERVAL);
            }
        }
        self.last = Some(progress);
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, _history: &History) {
        let secs = self.started.elapsed().as_secs_f64();
        self.started = Instant::now();
        let text = format!(
            "epoch {}/{}: {} ({secs:.1} s)",
            logs.epoch,
            self.epochs,
            logs.summary()
        );
        self.line(&text);
    }

    fn on_train_end(&mut self, history: &History) {
        // The bar ends showing where training stopped, even if that update was throttled.
        if let (Some(h), Some(last)) = (&mut self.handle, &self.last) {
            h.finish(last);
        }
        if history.interrupted {
            let text = format!(
                "interrupted in epoch {}; the model keeps the weights of the last batch",
                history.stopped_epoch
            );
            self.line(&text);
        }
    }
}

/// Training curves in a notebook display, redrawn as batches and epochs finish.
///
/// The display opens when training starts; redraws are throttled to one per `interval`
/// (one second by default), and the final curves are always drawn at the end.
pub struct LiveCurves {
    handle: Option<DisplayHandle>,
    interval: Duration,
    epochs: usize,
    history: History,
    status: String,
}

impl LiveCurves {
    pub fn new() -> Self {
        Self::with_interval(Duration::from_secs(1))
    }

    pub fn with_interval(interval: Duration) -> Self {
        LiveCurves {
            handle: None,
            interval,
            epochs: 0,
            history: History::default(),
            status: String::new(),
        }
    }

    /// The curves as currently drawn.
    pub fn curves(&self) -> Curves {
        let mut curves = self.history.curves();
        curves.title = self.status.clone();
        curves
    }

    fn redraw(&mut self, force: bool) {
        let frame = self.curves();
        match &mut self.handle {
            None => self.handle = Some(display(&frame)),
            Some(h) if force => h.update(&frame),
            Some(h) => {
                h.update_throttled(&frame, self.interval);
            }
        }
    }
}

impl Default for LiveCurves {
    fn default() -> Self {
        Self::new()
    }
}

impl Displayable for LiveCurves {
    fn mime_bundle(&self) -> MimeBundle {
        self.curves().mime_bundle()
    }
}

impl Observer for LiveCurves {
    fn on_train_begin(&mut self, plan: &Plan) {
        self.epochs = plan.epochs;
        self.history = History::default();
        self.status = format!("epoch 1/{}", plan.epochs);
        self.handle = None;
        self.redraw(false);
    }

    fn on_batch_end(&mut self, p: &BatchProgress) {
        self.status = format!(
            "epoch {}/{}  batch {}/{}  loss {:.4}  accuracy {:.4}",
            p.epoch, p.epochs, p.batch, p.batches, p.loss, p.accuracy
        );
        self.redraw(false);
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, history: &History) {
        self.history = history.clone();
        self.status = format!("epoch {}/{}: {}", logs.epoch, self.epochs, logs.summary());
        self.redraw(false);
    }

    fn on_train_end(&mut self, history: &History) {
        self.history = history.clone();
        self.status = match history.last() {
            Some(last) if !history.interrupted => format!("done: {}", last.summary()),
            _ if history.interrupted => format!("interrupted in epoch {}", history.stopped_epoch),
            _ => "no epoch finished".into(),
        };
        self.redraw(true);
    }
}
