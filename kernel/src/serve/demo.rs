//! `ferrolab serve --demo`: the book's CNN trained for a few seconds on the bundled digits
//! (28×28), saved as version 1 of model `cnn` in a temporary repository, so the command
//! serves something real on a fresh machine.

use anyhow::Context;
use ferrolab::data::{digits_28x28, Dataset};
use ferrolab::prelude::*;
use ferrolab::train::save_checkpoint;

/// A temporary repository holding `cnn/1/model.safetensors`; deleted when dropped.
pub fn train_into_repository() -> anyhow::Result<tempfile::TempDir> {
    eprintln!("demo: training the book's CNN on the bundled digits (2 epochs)…");
    let dev = Cpu::seed_from_u64(0);
    let mut model = Cnn::<f32, Cpu>::new(&dev);
    let data = digits_28x28().stratified_split(0.2, 0)?;
    let cfg = FitConfig::default()
        .epochs(2)
        .batch_size(32)
        .learning_rate(1e-3)
        .seed(0)
        .verbose(Verbose::Silent);
    fit(&mut model, &data.train, &cfg)?;
    let test = evaluate(&model, &data.test, 256)?;
    eprintln!(
        "demo: test accuracy {:.3} on {} held-out digits",
        test.accuracy,
        data.test.len()
    );
    let dir = tempfile::Builder::new()
        .prefix("ferrolab-demo-")
        .tempdir()
        .context("creating a temporary repository")?;
    save_checkpoint(&model, dir.path().join("cnn/1/model.safetensors"), 2, None)?;
    Ok(dir)
}
