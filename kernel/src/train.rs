//! `ferrolab train MODEL --data DATA`: trains a book model from the terminal with a progress
//! bar per epoch and ends with `test_accuracy=0.xxxx`.
//!
//! Pairs: `cnn` with `digits` (28×28), `lstm` with `sequences`, `bert` with `sentiment`,
//! `mlp` with `digits` (8×8, flat) or a CSV table (`--data FILE.csv`: a header line, numeric
//! features, the class label in the last column). Other pairs are refused with the pairs
//! that work. 20 % of the data (stratified, seeded) is the test set; 10 % of the rest
//! validates each epoch
//! (tables under 50 training items skip validation). Ctrl-C stops at the next batch and still reports the test accuracy.

use std::path::{Path, PathBuf};

use crate::book_model::BookModel;
use anyhow::{bail, Context};
use ferrolab::data::{
    digits, digits_28x28, read_csv, sentiment_sentences, sequence_classes, CsvOptions, Dataset, Split,
    WordTokenizer,
};
use ferrolab::prelude::*;
use ferrolab::train::{BatchProgress, EpochLogs, Observer, Plan, Trainable};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Which model to train.
    #[arg(value_enum)]
    pub model: BookModel,
    /// `digits`, `sequences`, `sentiment`, or a CSV file (MLP only).
    #[arg(long, default_value = "digits")]
    pub data: String,
    #[arg(long, default_value_t = 5)]
    pub epochs: usize,
    /// Seeds the weights, the data generators, the splits and the shuffles.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub learning_rate: f64,
    /// Keep the best epoch (by validation accuracy) here; training resumes from it if it exists.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let dev = Cpu::seed_from_u64(args.seed);
    match (args.model, args.data.as_str()) {
        (BookModel::Cnn, "digits") => {
            let data = digits_28x28().stratified_split(0.2, args.seed)?;
            train(&mut Cnn::<f32, Cpu>::new(&dev), &data, &args)
        }
        (BookModel::Lstm, "sequences") => {
            let data = sequence_classes(100, args.seed).stratified_split(0.2, args.seed)?;
            train(&mut StackedLstm::<f32, Cpu>::new(&dev), &data, &args)
        }
        (BookModel::Bert, "sentiment") => {
            let text = sentiment_sentences(2000, args.seed);
            let tokenizer = WordTokenizer::fit(&text.texts, 16);
            let data = text.encode(&tokenizer).stratified_split(0.2, args.seed)?;
            let cfg = BertConfig::small(tokenizer.vocab_size(), text.classes.len());
            train(&mut BertClassifier::<f32, Cpu, 2>::new(&dev, cfg)?, &data, &args)
        }
        (BookModel::Mlp, "digits") => {
            let data = digits().stratified_split(0.2, args.seed)?;
            train(&mut Mlp::<f32, Cpu>::new(&dev, 64, 32, 10), &data, &args)
        }
        (BookModel::Mlp, file) if file.ends_with(".csv") => {
            let table = read_csv(file, &CsvOptions::default())?;
            let (features, classes) = (table.feature_names.len(), table.data.classes.len());
            let data = table.data.stratified_split(0.2, args.seed)?;
            train(
                &mut Mlp::<f32, Cpu>::new(&dev, features, 64, classes),
                &data,
                &args,
            )
        }
        (model, data) => bail!(
            "`{}` cannot train on `{data}`; the pairs are: cnn --data digits, lstm --data sequences, \
             bert --data sentiment, mlp --data digits, mlp --data FILE.csv (a CSV table trains the MLP only)",
            format!("{model:?}").to_lowercase()
        ),
    }
}

const MIN_ITEMS_FOR_VALIDATION: usize = 50;

fn train<M: Trainable, S: Dataset>(model: &mut M, data: &Split<S>, args: &TrainArgs) -> anyhow::Result<()> {
    if let Some(path) = args.checkpoint.as_deref().filter(|p| p.exists()) {
        resume(model, path)?;
    }
    let mut cfg = FitConfig::default()
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .learning_rate(args.learning_rate)
        .seed(args.seed);
    // A tiny table has too few items per class to hold some out.
    if data.train.len() >= MIN_ITEMS_FOR_VALIDATION {
        cfg = cfg.validation_split(0.1);
    }
    let mut bars = EpochBars::default();
    let history = match &args.checkpoint {
        Some(path) => {
            let monitor = if data.train.len() >= MIN_ITEMS_FOR_VALIDATION {
                "val_accuracy"
            } else {
                "accuracy"
            };
            let mut best = ModelCheckpoint::new(path).best_only(monitor);
            fit_with(model, &data.train, &cfg, &mut [&mut best], &mut bars)?
        }
        None => fit_with(model, &data.train, &cfg, &mut [], &mut bars)?,
    };
    if history.interrupted {
        println!("interrupted in epoch {}", history.stopped_epoch);
    }
    let test = evaluate(model, &data.test, 256)?;
    println!("test_loss={:.4}", test.loss);
    println!("test_accuracy={:.4}", test.accuracy);
    Ok(())
}

fn resume<M: Trainable>(model: &mut M, path: &Path) -> anyhow::Result<()> {
    let meta = load_checkpoint(model, path).with_context(|| format!("resuming from {}", path.display()))?;
    let epoch = meta.map_or(0, |m| m.epoch);
    println!("resumed from {} (saved after epoch {epoch})", path.display());
    Ok(())
}

/// One indicatif bar per epoch that ends as the epoch's summary line.
#[derive(Default)]
struct EpochBars {
    bar: Option<ProgressBar>,
    plan: Option<Plan>,
}

impl EpochBars {
    fn new_bar(&self, epoch: usize) -> ProgressBar {
        let plan = self.plan.expect("training began");
        let bar = ProgressBar::new(plan.batches_per_epoch as u64);
        let style = ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .expect("a valid template")
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("{epoch}/{}", plan.epochs));
        bar
    }
}

impl Observer for EpochBars {
    fn on_train_begin(&mut self, plan: &Plan) {
        self.plan = Some(*plan);
        println!(
            "{} training items, {} validation items, {} batches per epoch",
            plan.train_items, plan.val_items, plan.batches_per_epoch
        );
    }

    fn on_batch_end(&mut self, p: &BatchProgress) {
        if p.batch == 1 {
            self.bar = Some(self.new_bar(p.epoch));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(p.batch as u64);
            bar.set_message(format!("loss={:.4} accuracy={:.4}", p.loss, p.accuracy));
        }
    }

    fn on_epoch_end(&mut self, logs: &EpochLogs, _history: &History) {
        let plan = self.plan.expect("training began");
        match self.bar.take() {
            // Without a terminal (a pipe, a log file) indicatif draws nothing: print the line.
            Some(bar) if !bar.is_hidden() => bar.finish_with_message(logs.summary()),
            _ => println!("epoch {}/{}: {}", logs.epoch, plan.epochs, logs.summary()),
        }
    }

    fn on_train_end(&mut self, _history: &History) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}
