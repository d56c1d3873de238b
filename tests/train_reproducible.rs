//! Same seed, same numbers: a seeded `fit` of the book's CNN logs the very same losses and
//! accuracies (bit for bit) every time it runs, on one thread or two.
//!
//! Issue 16 saw two runs log the same losses (to four digits) but epoch-3 accuracies 0.9346
//! and 0.9353: the conv kernel summed per-worker `dW`s grouped by rayon's work stealing, so
//! the rounding of each update depended on timing. Any parallel sum whose grouping follows
//! the scheduler would show here; the kernels now sum in a fixed order.

use ferrolab::data::{digits_28x28, Dataset};
use ferrolab::prelude::*;
use ferrolab::train::History;

/// Every number a seeded fit logs: its history, and the test metrics after it.
fn seeded_fit(threads: usize) -> (History, Vec<f64>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let data = digits_28x28().stratified_split(0.5, 42).unwrap();
        let dev = Cpu::seed_from_u64(7);
        let mut model = Cnn::<f32, Cpu>::new(&dev);
        let cfg = FitConfig::default()
            .epochs(3)
            .batch_size(64)
            .seed(11)
            .validation_split(0.2)
            .verbose(Verbose::Silent);
        let history = fit(&mut model, &data.train, &cfg).unwrap();
        let test = evaluate(&model, &data.test, 100).unwrap();
        assert!(data.test.len() > 0);
        (history, vec![test.loss, test.accuracy])
    })
}

#[test]
fn a_seeded_fit_repeats_every_logged_number_on_one_and_two_threads() {
    let runs = [1, 1, 2, 2].map(|threads| format!("{:?}", seeded_fit(threads)));
    assert_eq!(runs[1], runs[0], "two runs on one thread differ");
    assert_eq!(runs[3], runs[2], "two runs on two threads differ");
    assert_eq!(runs[2], runs[0], "one thread and two threads differ");
}
