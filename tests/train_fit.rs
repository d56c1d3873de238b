//! `fit`, `evaluate`, `predict` and `History` on a small MLP over the 8×8 digits: the loop
//! learns, validation is measured, predictions agree with evaluation, progress shows live.

use ferrolab::data::{digits, Dataset, FeatureSet, Split};
use ferrolab::display::{capture, parse_marker, Displayable};
use ferrolab::plot::Plot;
use ferrolab::prelude::*;
use ferrolab::train::{BatchProgress, Observer, Optimizer, Plan, StopReason};

fn split() -> Split<FeatureSet> {
    digits().stratified_split(0.2, 7).unwrap()
}

fn mlp(seed: u64) -> (Cpu, Mlp<f32, Cpu>) {
    let dev = Cpu::seed_from_u64(seed);
    let model = Mlp::new(&dev, 64, 32, 10);
    (dev, model)
}

fn quiet() -> FitConfig {
    FitConfig::default().verbose(Verbose::Silent)
}

#[test]
fn fit_learns_digits_and_records_every_epoch() {
    let data = split();
    let (_, mut model) = mlp(1);
    let before = evaluate(&model, &data.test, 256).unwrap();
    let history = fit(&mut model, &data.train, &quiet().epochs(8).validation_split(0.1)).unwrap();
    assert_eq!(history.epochs(), 8);
    assert_eq!(history.val_loss.len(), 8);
    assert!(!history.interrupted);
    assert_eq!(history.stop_reason, StopReason::Completed);
    assert_eq!(history.stopped_epoch, 8);
    assert!(history.loss[7] < history.loss[0], "{:?}", history.loss);
    let after = evaluate(&model, &data.test, 256).unwrap();
    assert!(before.accuracy < 0.3, "untrained accuracy {}", before.accuracy);
    assert!(after.accuracy > 0.9, "trained accuracy {}", after.accuracy);
    assert!(after.loss < before.loss);
}

#[test]
fn every_optimizer_trains() {
    let data = split();
    for (opt, lr) in [
        (Optimizer::Adam, 1e-2),
        (Optimizer::Sgd { momentum: 0.9 }, 5e-2),
        (Optimizer::RmsProp, 5e-3),
    ] {
        let (_, mut model) = mlp(2);
        let cfg = quiet().epochs(3).optimizer(opt).learning_rate(lr);
        fit(&mut model, &data.train, &cfg).unwrap();
        let acc = evaluate(&model, &data.test, 256).unwrap().accuracy;
        assert!(acc > 0.75, "{opt:?}: accuracy {acc}");
    }
}

#[test]
fn same_seed_same_history() {
    let data = split();
    let run = || {
        let (_, mut model) = mlp(3);
        fit(&mut model, &data.train, &quiet().epochs(2).seed(5))
            .unwrap()
            .loss
    };
    assert_eq!(run(), run());
}

#[test]
fn validation_data_is_measured_each_epoch() {
    let data = split();
    let (_, mut model) = mlp(4);
    let cfg = quiet().epochs(3).validation_data(data.test.clone());
    let history = fit(&mut model, &data.train, &cfg).unwrap();
    let last = evaluate(&model, &data.test, 64).unwrap();
    assert!((history.val_loss[2] - last.loss).abs() < 1e-4);
    assert!((history.val_accuracy[2] - last.accuracy).abs() < 1e-9);
}

#[test]
fn predictions_agree_with_evaluation() {
    let data = split();
    let (_, mut model) = mlp(5);
    fit(&mut model, &data.train, &quiet().epochs(3)).unwrap();
    let classes = predict(&model, &data.test, 50).unwrap();
    let probs = predict_proba(&model, &data.test, 50).unwrap();
    assert_eq!(classes.len(), data.test.len());
    assert_eq!(probs.len(), data.test.len());
    for (row, &c) in probs.iter().zip(&classes) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-4);
        let best = row.iter().cloned().fold(f64::MIN, f64::max);
        assert_eq!(row[c], best);
    }
    let hits = classes
        .iter()
        .zip(&data.test.labels)
        .filter(|(p, l)| p == l)
        .count();
    let acc = evaluate(&model, &data.test, 50).unwrap().accuracy;
    assert!((hits as f64 / data.test.len() as f64 - acc).abs() < 1e-9);
}

#[test]
fn bad_settings_are_named() {
    let data = split();
    let (_, mut model) = mlp(6);
    let e = fit(&mut model, &data.train, &quiet().batch_size(0)).unwrap_err();
    assert!(e.to_string().contains("batch_size"), "{e}");
    let e = fit(&mut model, &data.train, &quiet().validation_split(1.5)).unwrap_err();
    assert!(e.to_string().contains("validation_split"), "{e}");
    let tiny = data.train.subset(&[0, 1, 2, 3, 4]);
    let e = fit(&mut model, &tiny, &quiet().validation_split(0.1)).unwrap_err();
    assert!(e.to_string().contains("no validation items"), "{e}");
    // 8×8 images fed to a model expecting 784 features: the layer says so.
    let (_, mut wide) = (0, Mlp::<f32, Cpu>::new(&Cpu::default(), 784, 8, 10));
    let e = fit(&mut wide, &data.train, &quiet().epochs(1)).unwrap_err();
    assert!(
        e.to_string().contains("784") || e.to_string().contains("64"),
        "{e}"
    );
}

/// Records what the observer is told.
#[derive(Default)]
struct Recorder {
    plan: Option<Plan>,
    batches: Vec<BatchProgress>,
    epochs: Vec<usize>,
    ended: bool,
}

impl Observer for Recorder {
    fn on_train_begin(&mut self, plan: &Plan) {
        self.plan = Some(*plan);
    }
    fn on_batch_end(&mut self, p: &BatchProgress) {
        self.batches.push(*p);
    }
    fn on_epoch_end(&mut self, logs: &ferrolab::train::EpochLogs, _: &History) {
        self.epochs.push(logs.epoch);
    }
    fn on_train_end(&mut self, _: &History) {
        self.ended = true;
    }
}

#[test]
fn observer_sees_every_batch_and_epoch() {
    let data = split();
    let (_, mut model) = mlp(7);
    let mut rec = Recorder::default();
    let cfg = quiet().epochs(2).batch_size(100).validation_split(0.2);
    fit_with(&mut model, &data.train, &cfg, &mut [], &mut rec).unwrap();
    let plan = rec.plan.unwrap();
    assert_eq!(plan.train_items + plan.val_items, data.train.len());
    assert_eq!(plan.batches_per_epoch, plan.train_items.div_ceil(100));
    assert_eq!(rec.batches.len(), 2 * plan.batches_per_epoch);
    assert_eq!(rec.epochs, vec![1, 2]);
    assert!(rec.ended);
    let last = rec.batches.last().unwrap();
    assert_eq!(
        (last.epoch, last.batch, last.batches),
        (2, plan.batches_per_epoch, plan.batches_per_epoch)
    );
}

#[test]
fn live_curves_open_one_display_and_update_it_to_the_final_state() {
    let data = split();
    let (_, mut model) = mlp(8);
    let cfg = quiet().epochs(3).validation_split(0.1);
    let (history, out) = capture(|| {
        let mut live = LiveCurves::with_interval(std::time::Duration::from_secs(3600));
        fit_with(&mut model, &data.train, &cfg, &mut [], &mut live).unwrap()
    });
    let markers: Vec<_> = out.lines().filter_map(parse_marker).collect();
    // Opened once, every throttled update skipped (an hour apart), the final one forced.
    assert_eq!(markers.len(), 2, "{} markers", markers.len());
    assert!(!markers[0].update && markers[1].update);
    assert_eq!(markers[0].id, markers[1].id);
    let plain = markers[1].data.get("text/plain").unwrap();
    assert!(plain.contains("done"), "{plain}");
    assert!(markers[1].data.get("image/svg+xml").is_some());
    assert_eq!(history.epochs(), 3);
}

#[test]
fn text_progress_shows_a_batch_bar_that_ends_at_the_last_batch() {
    use ferrolab::display::{mime, Progress};
    let data = split();
    let (_, mut model) = mlp(10);
    let cfg = quiet().epochs(2).batch_size(64);
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let (history, out) = capture(|| {
        let mut text = TextProgress::to(Box::new(Shared(lines.clone()))).with_bar(true);
        fit_with(&mut model, &data.train, &cfg, &mut [], &mut text).unwrap()
    });
    let markers: Vec<_> = out.lines().filter_map(parse_marker).collect();
    assert!(markers.len() >= 2, "{out}");
    assert!(!markers[0].update && markers[1..].iter().all(|m| m.update && m.id == markers[0].id));
    let bars: Vec<Progress> = markers
        .iter()
        .map(|m| serde_json::from_str(m.data.get(mime::PROGRESS).unwrap()).unwrap())
        .collect();
    let batches = data.train.len().div_ceil(64) as u64;
    assert_eq!(
        (bars[0].label.as_str(), bars[0].done, bars[0].total),
        ("epoch 1/2", 1, batches)
    );
    let last = bars.last().unwrap();
    assert_eq!(
        (last.label.as_str(), last.done, last.total),
        ("epoch 2/2", batches, batches)
    );
    assert!(last.message.contains("loss"), "{}", last.message);
    // The epoch lines still go to the text sink, the bar only to displays.
    let text = String::from_utf8(lines.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text.lines().filter(|l| l.starts_with("epoch ")).count(),
        2,
        "{text}"
    );
    assert_eq!(history.epochs(), 2);
}

#[test]
fn history_plots_as_curves() {
    let data = split();
    let (_, mut model) = mlp(9);
    let history = fit(&mut model, &data.train, &quiet().epochs(2).validation_split(0.1)).unwrap();
    let curves = history.curves();
    let names: Vec<&str> = curves.series.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["loss", "accuracy", "val_loss", "val_accuracy"]);
    assert_eq!(curves.series[0].1, history.loss);
    let bundle = history.mime_bundle();
    assert!(bundle.get("image/svg+xml").unwrap().contains("<svg"));
    assert!(bundle.get("image/png").is_some());
    assert_eq!(bundle.get("text/plain").unwrap(), curves.to_text());
}
