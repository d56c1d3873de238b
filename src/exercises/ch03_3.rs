//! Checks for the exercises of chapter 03_3 (tutorials/ch03-3.md).
//!
//! - `causal-mask`: the additive mask that lets token `i` see tokens `0..=i` only;
//! - `attention-weights`: one query's attention weights `softmax(q·kⱼ / √d)`, by hand.
//!
//! The mask's expected values come from its definition; the weights come from the library's
//! [`scaled_dot_product_attention`], which the learner's loop must match.

use dfdx::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{check, expect_close, expect_eq, Check};
use crate::nn::scaled_dot_product_attention;

/// Checks `causal_mask(t)`: a `t × t` matrix, `0.0` where key `j ≤ i` (query `i` may look),
/// `f32::NEG_INFINITY` where `j > i` (the future), for several lengths including 0 and 1.
pub fn causal_mask(learner: fn(usize) -> Vec<Vec<f32>>) -> Check {
    check("causal-mask", || {
        for t in [1, 2, 4, 6, 0] {
            let want: Vec<Vec<f32>> = (0..t)
                .map(|i| {
                    (0..t)
                        .map(|j| if j <= i { 0.0 } else { f32::NEG_INFINITY })
                        .collect()
                })
                .collect();
            expect_eq(format!("t = {t}"), learner(t), want)?;
        }
        Ok(())
    })
}

/// Checks `attention_weights(query, keys)` against the library's attention weights for the
/// same query and keys: random ones, a single key, identical keys, and scores so large that
/// `exp` overflows unless the maximum is subtracted first.
pub fn attention_weights(learner: fn(&[f32], &[Vec<f32>]) -> Vec<f32>) -> Check {
    check("attention-weights", || {
        let mut rng = StdRng::seed_from_u64(33);
        let mut random = |n: usize, d: usize| -> (Vec<f32>, Vec<Vec<f32>>) {
            let q = (0..d).map(|_| rng.gen_range(-1.5..1.5)).collect();
            let keys = (0..n)
                .map(|_| (0..d).map(|_| rng.gen_range(-1.5..1.5)).collect())
                .collect();
            (q, keys)
        };
        let cases = [
            random(4, 4),
            random(6, 8),
            random(1, 3),
            (vec![0.5, -1.0], vec![vec![1.0, 2.0]; 3]),
            (vec![30.0; 8], vec![vec![30.0; 8], vec![-30.0; 8], vec![29.0; 8]]),
        ];
        for (query, keys) in cases {
            let got: Vec<f64> = learner(&query, &keys).iter().map(|&w| w as f64).collect();
            let want = library_weights(&query, &keys);
            let input = format!("query {query:?} and {} keys {keys:?}", keys.len());
            expect_close(input, &got, &want, 1e-4)?;
        }
        Ok(())
    })
}

/// One query's weights over `keys` from [`scaled_dot_product_attention`] (batch 1, head 1).
fn library_weights(query: &[f32], keys: &[Vec<f32>]) -> Vec<f64> {
    let dev = Cpu::default();
    let (n, d) = (keys.len(), query.len());
    let q = dev.tensor_from_vec(query.to_vec(), (1, 1, 1, d));
    let k = dev.tensor_from_vec(keys.concat(), (1, 1, n, d));
    let v = dev.tensor_from_vec(vec![0f32; n * d], (1, 1, n, d));
    let (_, weights) = scaled_dot_product_attention(q, k, v, None);
    weights.as_vec().into_iter().map(|w| w as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;

    fn solution_mask(t: usize) -> Vec<Vec<f32>> {
        (0..t)
            .map(|i| {
                (0..t)
                    .map(|j| if j > i { f32::NEG_INFINITY } else { 0.0 })
                    .collect()
            })
            .collect()
    }

    fn mistake_mask(t: usize) -> Vec<Vec<f32>> {
        (0..t)
            .map(|i| {
                (0..t)
                    .map(|j| if j >= i { f32::NEG_INFINITY } else { 0.0 })
                    .collect()
            })
            .collect()
    }

    fn solution_weights(query: &[f32], keys: &[Vec<f32>]) -> Vec<f32> {
        let scale = (query.len() as f32).sqrt();
        let scores: Vec<f32> = keys
            .iter()
            .map(|k| query.iter().zip(k).map(|(q, k)| q * k).sum::<f32>() / scale)
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
        let total: f32 = exps.iter().sum();
        exps.iter().map(|e| e / total).collect()
    }

    fn mistake_weights(query: &[f32], keys: &[Vec<f32>]) -> Vec<f32> {
        let scores: Vec<f32> = keys
            .iter()
            .map(|k| query.iter().zip(k).map(|(q, k)| q * k).sum::<f32>())
            .collect();
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
        let total: f32 = exps.iter().sum();
        exps.iter().map(|e| e / total).collect()
    }

    #[test]
    fn causal_mask_verdicts() {
        assert!(causal_mask(solution_mask).is_correct());
        let Verdict::Incorrect(reason) = causal_mask(mistake_mask).verdict else {
            panic!("the mistake must be incorrect")
        };
        assert!(
            reason.starts_with("for t = 1: expected [[0.0]], got [[-inf]]"),
            "{reason}"
        );
        assert_eq!(causal_mask(|_| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn attention_weights_verdicts() {
        assert!(attention_weights(solution_weights).is_correct());
        let Verdict::Incorrect(reason) = attention_weights(mistake_weights).verdict else {
            panic!("the mistake must be incorrect")
        };
        assert!(
            reason.contains("query [") && reason.contains("expected"),
            "{reason}"
        );
        assert_eq!(attention_weights(|_, _| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn large_scores_need_the_maximum_subtracted() {
        let naive = |query: &[f32], keys: &[Vec<f32>]| -> Vec<f32> {
            let scale = (query.len() as f32).sqrt();
            let exps: Vec<f32> = keys
                .iter()
                .map(|k| (query.iter().zip(k).map(|(q, k)| q * k).sum::<f32>() / scale).exp())
                .collect();
            let total: f32 = exps.iter().sum();
            exps.iter().map(|e| e / total).collect()
        };
        let Verdict::Incorrect(reason) = attention_weights(naive).verdict else {
            panic!("an overflowing softmax must be incorrect")
        };
        assert!(reason.contains("[30.0"), "{reason}");
    }
}
