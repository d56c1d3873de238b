//! Checks for the exercises of chapter 04_1 (tutorials/ch04-1.md): a convolution layer's
//! parameter count by formula, accuracy computed from predictions, and a learning rate that
//! trains the book's CNN.
//!
//! Expected values come from the library: the parameters dfdx counts in a [`Conv2D`],
//! [`ConfusionMatrix::accuracy`], and a real training run judged by [`evaluate`].

use dfdx::prelude::*;

use super::{check, expect_close, expect_eq, Check};
use crate::data::digits_28x28;
use crate::models::Cnn;
use crate::nn::{Conv2D, Conv2DConfig};
use crate::plot::ConfusionMatrix;
use crate::train::{evaluate, fit, FitConfig, Verbose};

/// Exercise `conv-params`: `f(in_channels, filters, kernel_size)` must give the trainable
/// parameters of `Conv2D(filters, (kernel_size, kernel_size))` on `in_channels` channels,
/// counted by dfdx in the library's layer.
pub fn conv_params(f: fn(usize, usize, usize) -> usize) -> Check {
    check("conv-params", || {
        let dev = Cpu::default();
        // The book's two layers first, then colour input, a 1×1 kernel, a single filter.
        for (c, o, k) in [
            (1, 32, 3),
            (32, 64, 3),
            (3, 16, 5),
            (64, 128, 1),
            (1, 1, 1),
            (2, 1, 7),
        ] {
            let conv =
                Conv2D::<f32, Cpu>::new(&dev, Conv2DConfig::new(c, o, k)).map_err(|e| e.to_string())?;
            let input = format!("in_channels = {c}, filters = {o}, kernel_size = {k}");
            expect_eq(input, f(c, o, k), conv.num_trainable_params())?;
        }
        Ok(())
    })
}

/// Exercise `accuracy`: `f(predictions, labels)` must give the share of positions where the
/// two agree, in 0..=1, and 0 for empty lists, as [`ConfusionMatrix::accuracy`] counts it.
pub fn accuracy(f: fn(&[usize], &[usize]) -> f64) -> Check {
    check("accuracy", || {
        let cases: [(&[usize], &[usize]); 6] = [
            (&[3, 1, 4, 1, 5, 9], &[3, 1, 4, 1, 5, 9]),
            (&[1, 2, 0], &[1, 2, 3]),
            (&[7, 7, 7, 7], &[0, 1, 2, 7]),
            (&[2, 2], &[5, 6]),
            (&[4], &[4]),
            (&[], &[]),
        ];
        let classes: Vec<usize> = (0..10).collect();
        for (predictions, labels) in cases {
            let want = ConfusionMatrix::from_predictions(&classes, labels, predictions).accuracy();
            let input = format!("predictions = {predictions:?}, labels = {labels:?}");
            expect_close(input, &[f(predictions, labels)], &[want], 1e-12)?;
        }
        Ok(())
    })
}

/// Training items, epochs and the test accuracy the `learning-rate` exercise asks for.
pub const LEARNING_RATE_TASK: (usize, usize, f64) = (300, 2, 0.7);

/// Exercise `learning-rate`: `f()` names Adam's learning rate; with it, the book's CNN
/// (seeded) trained for [`LEARNING_RATE_TASK`]`.1` epochs on the first
/// [`LEARNING_RATE_TASK`]`.0` training digits (batch 32) must reach a test accuracy of at least
/// [`LEARNING_RATE_TASK`]`.2` on the held-out fifth. Takes about a second per try.
pub fn learning_rate(f: fn() -> f64) -> Check {
    check("learning-rate", || {
        let (items, epochs, threshold) = LEARNING_RATE_TASK;
        let rate = f();
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("a learning rate must be a positive number, got {rate}"));
        }
        let data = digits_28x28()
            .stratified_split(0.2, 42)
            .map_err(|e| format!("the check's data failed: {e}"))?;
        let train = data.train.subset(&(0..items).collect::<Vec<_>>());
        let mut model = Cnn::<f32, Cpu>::new(&Cpu::seed_from_u64(1));
        let cfg = FitConfig::default()
            .epochs(epochs)
            .batch_size(32)
            .learning_rate(rate)
            .verbose(Verbose::Silent);
        let history = fit(&mut model, &train, &cfg).map_err(|e| format!("training failed: {e}"))?;
        let test = evaluate(&model, &data.test, 256).map_err(|e| format!("evaluation failed: {e}"))?;
        if test.accuracy >= threshold {
            return Ok(());
        }
        let loss = history.metric("loss");
        let (Some(&first), Some(&last)) = (loss.first(), loss.last()) else {
            return Err(format!("for learning_rate = {rate}: no epoch finished"));
        };
        // Mean cross-entropy of a guess that gives each of the 10 classes the same probability.
        let guessing = (10f64).ln();
        let why = if !last.is_finite() || last > first || first > 1.5 * guessing {
            format!(
                "the loss went from {first:.3} to {last:.3}, starting far above the {guessing:.3} of \
                 guessing: steps this large overshoot"
            )
        } else if last > 0.9 * first {
            format!("the loss hardly moved, from {first:.3} to {last:.3}: steps this small change little")
        } else {
            format!("the loss fell from {first:.3} to {last:.3}, not yet far enough")
        };
        Err(format!(
            "for learning_rate = {rate}: {epochs} epochs on {items} digits reached a test accuracy of \
             {:.3}, below {threshold} ({why})",
            test.accuracy
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::Verdict;

    fn right(predictions: &[usize], labels: &[usize]) -> usize {
        predictions.iter().zip(labels).filter(|(p, l)| p == l).count()
    }

    #[test]
    fn conv_params_judges_the_formula() {
        assert!(conv_params(|c, o, k| (c * k * k + 1) * o).is_correct());
        // The chapter's mistake: the biases forgotten.
        let wrong = conv_params(|c, o, k| c * k * k * o).verdict;
        assert_eq!(
            wrong,
            Verdict::Incorrect(
                "for in_channels = 1, filters = 32, kernel_size = 3: expected 320, got 288".into()
            )
        );
        // One bias per layer instead of per filter.
        assert!(!conv_params(|c, o, k| c * k * k * o + 1).is_correct());
        assert_eq!(conv_params(|_, _, _| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn accuracy_judges_the_division() {
        let solution = |p: &[usize], l: &[usize]| {
            if l.is_empty() {
                0.0
            } else {
                right(p, l) as f64 / l.len() as f64
            }
        };
        assert!(accuracy(solution).is_correct());
        // The chapter's mistake: integer division, 2 / 3 == 0.
        let Verdict::Incorrect(reason) = accuracy(|p, l| (right(p, l) / l.len().max(1)) as f64).verdict
        else {
            panic!("integer division is wrong")
        };
        assert!(
            reason.contains("[1, 2, 0]") && reason.contains("0.666667"),
            "{reason}"
        );
        // 0 / 0 is NaN, not 0.
        let Verdict::Incorrect(reason) = accuracy(|p, l| right(p, l) as f64 / l.len() as f64).verdict else {
            panic!("NaN for empty lists is wrong")
        };
        assert!(reason.contains("predictions = []"), "{reason}");
        assert_eq!(accuracy(|_, _| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn learning_rate_trains_for_real() {
        assert!(learning_rate(|| 3e-3).is_correct());
        // The chapter's mistake: steps so large that Adam overshoots.
        let Verdict::Incorrect(reason) = learning_rate(|| 0.1).verdict else {
            panic!("0.1 does not train")
        };
        assert!(
            reason.starts_with("for learning_rate = 0.1: 2 epochs on 300 digits"),
            "{reason}"
        );
        let Verdict::Incorrect(reason) = learning_rate(|| -1.0).verdict else {
            panic!("a negative rate is wrong")
        };
        assert!(reason.contains("positive"), "{reason}");
        assert_eq!(learning_rate(|| todo!()).verdict, Verdict::NotAttempted);
    }
}
