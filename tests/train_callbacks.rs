//! Callbacks inside `fit_with`: EarlyStopping stops and restores, ModelCheckpoint writes the
//! files it says, CsvLogger's file matches the History, and a user's own callback can stop.

use ferrolab::data::{digits, FeatureSet, Split};
use ferrolab::prelude::*;
use ferrolab::train::{read_sidecar, sidecar_path, Control, EpochLogs, Optimizer, Silent, StopReason};

fn split() -> Split<FeatureSet> {
    digits().stratified_split(0.2, 7).unwrap()
}

fn mlp() -> Mlp<f32, Cpu> {
    Mlp::new(&Cpu::seed_from_u64(11), 64, 32, 10)
}

fn cfg() -> FitConfig {
    FitConfig::default()
        .verbose(Verbose::Silent)
        .validation_split(0.2)
}

#[test]
fn early_stopping_stops_after_patience_epochs_without_improvement() {
    let data = split();
    let mut model = mlp();
    // A learning rate this small cannot move val_loss by min_delta: only epoch 1 "improves".
    let cfg = cfg()
        .epochs(10)
        .optimizer(Optimizer::Sgd { momentum: 0.0 })
        .learning_rate(1e-9);
    let mut stop = EarlyStopping::new("val_loss").patience(2).min_delta(1e-3);
    let history = fit_with(&mut model, &data.train, &cfg, &mut [&mut stop], &mut Silent).unwrap();
    assert_eq!(history.epochs(), 3);
    assert_eq!(history.stopped_epoch, 3);
    assert_eq!(history.stop_reason, StopReason::Callback("EarlyStopping".into()));
    assert!(!history.interrupted);
    assert_eq!(stop.best_epoch(), 1);
    assert_eq!(stop.stopped_epoch(), Some(3));
}

#[test]
fn early_stopping_keeps_going_while_the_metric_improves() {
    let data = split();
    let mut model = mlp();
    let mut stop = EarlyStopping::new("val_accuracy").patience(5);
    let history = fit_with(
        &mut model,
        &data.train,
        &cfg().epochs(3),
        &mut [&mut stop],
        &mut Silent,
    )
    .unwrap();
    assert_eq!(history.epochs(), 3);
    assert_eq!(history.stop_reason, StopReason::Completed);
    assert_eq!(stop.stopped_epoch(), None);
}

fn logs(epoch: usize, val_loss: f64) -> EpochLogs {
    EpochLogs {
        epoch,
        loss: 1.0,
        accuracy: 0.5,
        val_loss: Some(val_loss),
        val_accuracy: Some(0.5),
    }
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let data = split();
    let best = mlp();
    let mut stop = EarlyStopping::new("val_loss").restore_best_weights(true);
    Callback::<Mlp<f32, Cpu>>::on_train_begin(&mut stop, &best).unwrap();
    assert_eq!(
        stop.on_epoch_end(&logs(1, 0.5), &best).unwrap(),
        Control::Continue
    );
    let mut later = best.clone();
    let quiet = FitConfig::default().verbose(Verbose::Silent).epochs(1);
    fit(&mut later, &data.train, &quiet).unwrap();
    assert_ne!(
        predict_proba(&later, &data.test, 100).unwrap(),
        predict_proba(&best, &data.test, 100).unwrap()
    );
    assert_eq!(stop.on_epoch_end(&logs(2, 0.9), &later).unwrap(), Control::Stop);
    let mut history = History::default();
    history.push(&logs(1, 0.5));
    history.push(&logs(2, 0.9));
    stop.on_train_end(&history, &mut later).unwrap();
    assert_eq!(
        predict_proba(&later, &data.test, 100).unwrap(),
        predict_proba(&best, &data.test, 100).unwrap()
    );
}

#[test]
fn early_stopping_on_a_missing_metric_says_which() {
    let data = split();
    let mut model = mlp();
    let mut stop = EarlyStopping::new("val_loss");
    let no_validation = FitConfig::default().verbose(Verbose::Silent).epochs(1);
    let e = fit_with(
        &mut model,
        &data.train,
        &no_validation,
        &mut [&mut stop],
        &mut Silent,
    )
    .unwrap_err();
    assert!(e.to_string().contains("\"val_loss\""), "{e}");
}

#[test]
fn model_checkpoint_writes_every_epoch_with_sidecars() {
    let data = split();
    let dir = tempfile::tempdir().unwrap();
    let mut model = mlp();
    let mut ckpt = ModelCheckpoint::new(dir.path().join("mlp-{epoch}.safetensors"));
    let history = fit_with(
        &mut model,
        &data.train,
        &cfg().epochs(3),
        &mut [&mut ckpt],
        &mut Silent,
    )
    .unwrap();
    let saved: Vec<usize> = ckpt.saved().iter().map(|(e, _)| *e).collect();
    assert_eq!(saved, vec![1, 2, 3]);
    for epoch in 1..=3 {
        let path = dir.path().join(format!("mlp-{epoch}.safetensors"));
        assert!(path.is_file(), "{}", path.display());
        let meta = read_sidecar(&path).unwrap().expect("sidecar");
        assert_eq!(meta.epoch, epoch);
        assert_eq!(meta.kind, "mlp");
        assert_eq!(meta.config["hidden"], 32);
        // serde_json may round the last bit of an f64.
        let val_loss = meta.metrics.unwrap().val_loss.unwrap();
        assert!((val_loss - history.val_loss[epoch - 1]).abs() < 1e-12);
    }
    // The last file holds the trained weights.
    let mut fresh = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(99), 64, 32, 10);
    load_checkpoint(&mut fresh, dir.path().join("mlp-3.safetensors")).unwrap();
    assert_eq!(
        predict_proba(&fresh, &data.test, 100).unwrap(),
        predict_proba(&model, &data.test, 100).unwrap()
    );
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        6,
        "only checkpoints and sidecars, no temporary files: {names:?}"
    );
}

#[test]
fn model_checkpoint_best_only_saves_on_improvement() {
    let data = split();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.safetensors");
    let mut model = mlp();
    let mut ckpt = ModelCheckpoint::new(&path).best_only("val_accuracy");
    let history = fit_with(
        &mut model,
        &data.train,
        &cfg().epochs(4),
        &mut [&mut ckpt],
        &mut Silent,
    )
    .unwrap();
    let mut expected = Vec::new();
    let mut best = f64::MIN;
    for (i, &acc) in history.val_accuracy.iter().enumerate() {
        if acc > best {
            best = acc;
            expected.push(i + 1);
        }
    }
    let saved: Vec<usize> = ckpt.saved().iter().map(|(e, _)| *e).collect();
    assert_eq!(saved, expected);
    let meta = read_sidecar(&path).unwrap().unwrap();
    assert_eq!(meta.epoch, *expected.last().unwrap());
    assert!(sidecar_path(&path).ends_with("best.safetensors.json"));
}

#[test]
fn csv_logger_writes_one_row_per_epoch() {
    let data = split();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let mut model = mlp();
    let mut log = CsvLogger::new(&path);
    let history = fit_with(
        &mut model,
        &data.train,
        &cfg().epochs(3),
        &mut [&mut log],
        &mut Silent,
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,loss,accuracy,val_loss,val_accuracy");
    assert_eq!(lines.len(), 4);
    for (i, line) in lines[1..].iter().enumerate() {
        let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        assert_eq!(
            f,
            vec![
                (i + 1) as f64,
                history.loss[i],
                history.accuracy[i],
                history.val_loss[i],
                history.val_accuracy[i]
            ]
        );
    }
    // Without validation the val_ fields stay empty.
    let no_val = FitConfig::default().verbose(Verbose::Silent).epochs(1);
    fit_with(&mut model, &data.train, &no_val, &mut [&mut log], &mut Silent).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2, "a new run replaces the file");
    assert!(text.lines().nth(1).unwrap().ends_with(",,"), "{text}");
}

/// A learner's own callback: stops after epoch 2.
struct StopAtTwo;

impl<M> Callback<M> for StopAtTwo {
    fn on_epoch_end(&mut self, logs: &EpochLogs, _model: &M) -> ferrolab::train::TrainResult<Control> {
        Ok(if logs.epoch == 2 {
            Control::Stop
        } else {
            Control::Continue
        })
    }
}

#[test]
fn a_users_callback_can_stop_training() {
    let data = split();
    let mut model = mlp();
    let mut log_path = tempfile::NamedTempFile::new()
        .unwrap()
        .into_temp_path()
        .to_path_buf();
    log_path.set_extension("csv");
    let mut log = CsvLogger::new(&log_path);
    let history = fit_with(
        &mut model,
        &data.train,
        &cfg().epochs(5),
        &mut [&mut StopAtTwo, &mut log],
        &mut Silent,
    )
    .unwrap();
    assert_eq!(history.epochs(), 2);
    assert_eq!(history.stop_reason, StopReason::Callback("StopAtTwo".into()));
    // Every callback still saw the last epoch.
    assert_eq!(std::fs::read_to_string(&log_path).unwrap().lines().count(), 3);
    let _ = std::fs::remove_file(&log_path);
}
