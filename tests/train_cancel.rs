//! Cancelling a running `fit`: from an observer mid-epoch and by SIGINT to this process.
//! Both return within one batch with `interrupted = true` and a usable model.
//!
//! The cancel flag is process-wide, so these tests take turns through a lock.

use std::sync::Mutex;

use ferrolab::data::digits;
use ferrolab::prelude::*;
use ferrolab::train::{is_cancelled, request_cancel, BatchProgress, Observer, Plan, StopReason};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Counts batches and does `act` after batch `at` of epoch 2.
struct ActAt<F: FnMut()> {
    at: usize,
    act: F,
    batches: usize,
    per_epoch: usize,
}

impl<F: FnMut()> Observer for ActAt<F> {
    fn on_train_begin(&mut self, plan: &Plan) {
        self.per_epoch = plan.batches_per_epoch;
    }

    fn on_batch_end(&mut self, p: &BatchProgress) {
        self.batches += 1;
        if p.epoch == 2 && p.batch == self.at {
            (self.act)();
        }
    }
}

fn run_until_cancelled(act: impl FnMut()) -> (History, usize, usize, f64) {
    let data = digits().stratified_split(0.2, 1).unwrap();
    let mut model = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(1), 64, 32, 10);
    let cfg = FitConfig::default()
        .epochs(50)
        .learning_rate(1e-2)
        .validation_split(0.1);
    let mut observer = ActAt {
        at: 3,
        act,
        batches: 0,
        per_epoch: 0,
    };
    let history = fit_with(&mut model, &data.train, &cfg, &mut [], &mut observer).unwrap();
    // The model is whole and usable after the cancel.
    let accuracy = evaluate(&model, &data.test, 100).unwrap().accuracy;
    (history, observer.batches, observer.per_epoch, accuracy)
}

fn check(history: &History, batches: usize, per_epoch: usize, accuracy: f64) {
    assert!(history.interrupted);
    assert_eq!(history.stop_reason, StopReason::Interrupted);
    assert_eq!(history.stopped_epoch, 2);
    assert_eq!(history.epochs(), 1, "the partial epoch is not recorded");
    assert_eq!(batches, per_epoch + 3, "no batch ran after the cancel");
    assert!(accuracy > 0.5, "the model still predicts: accuracy {accuracy}");
}

#[test]
fn a_cancel_request_mid_epoch_stops_at_the_next_batch() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (history, batches, per_epoch, accuracy) = run_until_cancelled(request_cancel);
    check(&history, batches, per_epoch, accuracy);
    // The next fit starts with the flag cleared.
    let data = digits();
    let mut model = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(2), 64, 8, 10);
    let h = fit(
        &mut model,
        &data,
        &FitConfig::default().epochs(1).verbose(Verbose::Silent),
    )
    .unwrap();
    assert!(!h.interrupted && h.epochs() == 1);
    assert!(!is_cancelled());
}

#[cfg(unix)]
#[test]
fn sigint_to_this_process_interrupts_fit() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let raise = || signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap();
    let (history, batches, per_epoch, accuracy) = run_until_cancelled(raise);
    check(&history, batches, per_epoch, accuracy);
}

/// A terminal's Ctrl-C and a REPL forwarding it can reach the runtime together: two SIGINTs
/// during `fit` still only stop training, and the process (this test) lives on.
#[cfg(unix)]
#[test]
fn two_sigints_at_once_during_fit_only_stop_training() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let raise_twice = || {
        signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap();
        signal_hook::low_level::raise(signal_hook::consts::SIGINT).unwrap();
    };
    let (history, batches, per_epoch, accuracy) = run_until_cancelled(raise_twice);
    check(&history, batches, per_epoch, accuracy);
}
