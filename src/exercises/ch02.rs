//! Checks for the exercises of chapter 02 (tutorials/ch02.md).

use dfdx::prelude::*;

use super::{check, expect_close, Check};
use crate::data::two_moons;
use crate::models::Mlp;
use crate::train::{evaluate, fit, FitConfig, Optimizer, Verbose};

/// `neuron`: the learner's `neuron(x, w, b)`, one neuron's output `relu(w·x + b)`.
pub fn neuron(f: fn(&[f64], &[f64], f64) -> f64) -> Check {
    check("neuron", || {
        let cases: [(&[f64], &[f64], f64); 6] = [
            (&[1.0, 2.0, 3.0], &[0.1, 0.2, 0.3], 0.0),
            (&[1.0, 2.0], &[0.5, -1.0], 0.25), // negative sum: ReLU gives 0
            (&[-1.0], &[2.0], 5.0),
            (&[0.5, -0.5], &[1.0, 1.0], -0.1),
            (&[], &[], 0.7), // no inputs: just the bias
            (&[2.0, 2.0, 2.0, 2.0], &[0.25, 0.25, 0.25, 0.25], -1.0),
        ];
        for (x, w, b) in cases {
            let sum: f64 = x.iter().zip(w).map(|(xi, wi)| xi * wi).sum::<f64>() + b;
            let want = sum.max(0.0);
            expect_close(
                format!("x = {x:?}, w = {w:?}, b = {b}"),
                &[f(x, w, b)],
                &[want],
                1e-9,
            )?;
        }
        Ok(())
    })
}

/// Test accuracy of chapter 2's moons MLP after 30 epochs of plain SGD at `lr`: 400 points
/// (noise 0.15, seed 1), a quarter held out, `Mlp::new(&dev, 2, 16, 2)` from seed 0, batch 16.
pub fn moons_sgd_accuracy(lr: f64) -> Result<f64, String> {
    let moons = two_moons(400, 0.15, 1)
        .stratified_split(0.25, 0)
        .map_err(|e| e.to_string())?;
    let dev = Cpu::seed_from_u64(0);
    let mut model = Mlp::<f32, Cpu>::new(&dev, 2, 16, 2);
    let cfg = FitConfig::default()
        .epochs(30)
        .batch_size(16)
        .optimizer(Optimizer::Sgd { momentum: 0.0 })
        .learning_rate(lr)
        .verbose(Verbose::Silent);
    fit(&mut model, &moons.train, &cfg).map_err(|e| e.to_string())?;
    let test = evaluate(&model, &moons.test, 256).map_err(|e| e.to_string())?;
    Ok(if test.loss.is_finite() { test.accuracy } else { 0.0 })
}

/// `learning-rate`: the learner's `learning_rate()`, a rate at which 30 epochs of plain SGD
/// bring the moons MLP to at least 95 % test accuracy (see [`moons_sgd_accuracy`]).
pub fn learning_rate(f: fn() -> f64) -> Check {
    check("learning-rate", || {
        let lr = f();
        if !(lr.is_finite() && lr > 0.0) {
            return Err(format!("a learning rate is a positive number, got {lr}"));
        }
        let accuracy = moons_sgd_accuracy(lr)?;
        if accuracy >= 0.95 {
            Ok(())
        } else {
            Err(format!(
                "for learning rate {lr}: expected a test accuracy of at least 0.95 after 30 epochs, got {accuracy:.2}"
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::tests::incorrect;
    use crate::exercises::Verdict;

    #[test]
    fn neuron_verdicts() {
        let solution = |x: &[f64], w: &[f64], b: f64| {
            let z: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + b;
            z.max(0.0)
        };
        assert!(neuron(solution).is_correct());
        // The mistake: no activation, the weighted sum itself.
        let reason = incorrect(neuron(|x, w, b| {
            x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() + b
        }));
        assert!(
            reason.contains("w = [0.5, -1.0], b = 0.25") && reason.contains("expected 0.000000"),
            "{reason}"
        );
        assert_eq!(neuron(|_, _, _| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn learning_rate_verdicts() {
        assert!(learning_rate(|| 0.3).is_correct());
        // The mistake: Adam's usual 0.001 is far too small for plain SGD here.
        let reason = incorrect(learning_rate(|| 0.001));
        assert!(
            reason.contains("learning rate 0.001") && reason.contains("at least 0.95"),
            "{reason}"
        );
        // Too large diverges.
        assert!(!learning_rate(|| 10.0).is_correct());
        assert!(incorrect(learning_rate(|| -1.0)).contains("positive"));
        assert_eq!(learning_rate(|| todo!()).verdict, Verdict::NotAttempted);
    }
}
