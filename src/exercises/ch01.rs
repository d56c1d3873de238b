//! Checks for the exercises of chapter 01 (tutorials/ch01.md).

use super::{check, expect_eq, Check};

/// `model-bytes`: the learner's `model_bytes(params, bits)`, the bytes that `params` numbers
/// of `bits` bits each take, rounded up to whole bytes.
pub fn model_bytes(f: fn(u64, u32) -> u64) -> Check {
    check("model-bytes", || {
        let cases: [(u64, u32); 7] = [
            (175_000_000_000, 16), // GPT-3 in fp16
            (175_000_000_000, 32),
            (34_826, 32), // the book's CNN in fp32
            (34_826, 8),
            (3, 4), // three 4-bit numbers: 1.5 bytes, stored in 2
            (1, 1),
            (0, 32),
        ];
        for (params, bits) in cases {
            let want = (params * u64::from(bits)).div_ceil(8);
            expect_eq(format!("params = {params}, bits = {bits}"), f(params, bits), want)?;
        }
        Ok(())
    })
}

/// `training-days`: the learner's `training_days(params, tokens, flops_per_second)`, the days
/// a training run of `6 · params · tokens` floating-point operations takes at that speed.
pub fn training_days(f: fn(f64, f64, f64) -> f64) -> Check {
    check("training-days", || {
        let cases = [
            (175e9, 300e9, 1e15), // GPT-3 on one petaFLOP/s
            (175e9, 300e9, 5e10),
            (110e6, 3.3e9, 1e12), // BERT-base's size and corpus, on a teraFLOP/s
            (34_826.0, 1_437.0, 1e9),
            (1e9, 0.0, 1e12), // no data, no time
        ];
        for (n, d, speed) in cases {
            let want = 6.0 * n * d / speed / 86_400.0;
            let got = f(n, d, speed);
            // Written so that a NaN from the learner counts as wrong.
            let close = (got - want).abs() <= 1e-9 * want.abs().max(1e-12);
            if !close {
                return Err(format!(
                    "for params = {n:e}, tokens = {d:e}, speed = {speed:e} FLOP/s: \
                     expected {want:.6e} days, got {got:.6e}"
                ));
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::tests::incorrect;
    use crate::exercises::Verdict;

    #[test]
    fn model_bytes_verdicts() {
        let solution = |params: u64, bits: u32| (params * u64::from(bits)).div_ceil(8);
        assert!(model_bytes(solution).is_correct());
        // The mistake: whole bytes rounded down, so three 4-bit numbers fit in 1 byte.
        let reason = incorrect(model_bytes(|params, bits| params * u64::from(bits) / 8));
        assert!(
            reason.contains("params = 3, bits = 4") && reason.contains("expected 2, got 1"),
            "{reason}"
        );
        let forgot_bits = incorrect(model_bytes(|params, bits| params * u64::from(bits)));
        assert!(forgot_bits.contains("bits = 16"), "{forgot_bits}");
        assert_eq!(model_bytes(|_, _| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn training_days_verdicts() {
        assert!(training_days(|n, d, s| 6.0 * n * d / s / 86_400.0).is_correct());
        // The mistake: the forward pass only (2·N·D).
        let reason = incorrect(training_days(|n, d, s| 2.0 * n * d / s / 86_400.0));
        assert!(
            reason.contains("params = 1.75e11") && reason.contains("expected 3.645833e3"),
            "{reason}"
        );
        let seconds = incorrect(training_days(|n, d, s| 6.0 * n * d / s));
        assert!(seconds.contains("days"), "{seconds}");
        assert_eq!(training_days(|_, _, _| todo!()).verdict, Verdict::NotAttempted);
    }
}
