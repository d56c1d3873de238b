//! Checks for the exercises of chapter 03_4 (tutorials/ch03-4.md): one step of formula 3.4.3
//! (the RNN's hidden state) and the attention weights of formula 3.4.4 for one query.
//!
//! Expected values come from the library's layers in f64: [`SimpleRnn`] run over two steps,
//! and [`scaled_dot_product_attention`]'s weights.

use dfdx::prelude::*;

use super::{check, expect_close, Check};
use crate::nn::{scaled_dot_product_attention, Dyn2, Sequences, SimpleRnn};

/// Deterministic values in -1..1 (`seed` picks the sequence), so every case is reproducible.
fn values(len: usize, seed: usize) -> Vec<f64> {
    (0..len)
        .map(|i| ((i * 29 + seed * 13 + 7) % 41) as f64 / 20.0 - 1.0)
        .collect()
}

/// `[0.25, -1, 0.123457]`: numbers as short as they print exactly (6 decimals at most), so a
/// reason shows the inputs as a learner would type them.
fn show(v: &[f64]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|x| {
            let s = format!("{x:.6}");
            let s = s.trim_end_matches('0').trim_end_matches('.');
            if s == "-0" {
                "0".to_string()
            } else {
                s.to_string()
            }
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// `[[…], […]]`, each row as [`show`] writes it.
fn show_rows(rows: &[Vec<f64>]) -> String {
    let items: Vec<String> = rows.iter().map(|r| show(r)).collect();
    format!("[{}]", items.join(", "))
}

/// A row-major `rows×cols` matrix as rows, the way the exercise takes `W` and `U`.
fn rows(flat: &[f64], cols: usize) -> Vec<Vec<f64>> {
    flat.chunks(cols).map(<[f64]>::to_vec).collect()
}

/// The learner's `rnn_step(w, u, b, x_t, h_prev) -> h_t`.
pub type RnnStep = fn(&[Vec<f64>], &[Vec<f64>], &[f64], &[f64], &[f64]) -> Vec<f64>;

/// Exercise `rnn-step`: `f(w, u, b, x_t, h_prev)` must return
/// `h_t = tanh(W x_t + U h_{t−1} + b)`, with `W` as `units` rows of `features` numbers and
/// `U` as `units` rows of `units` numbers. Checked against [`SimpleRnn`] on two-step
/// sequences: the first step starts from `h_0 = 0`, the second from the layer's own `h_1`.
pub fn rnn_step(f: RnnStep) -> Check {
    check("rnn-step", || {
        let dev = Cpu::default();
        // (features, units, scale of the inputs): non-square W, a single feature, saturated tanh.
        for (case, (features, units, scale)) in
            [(3, 2, 1.0), (1, 4, 1.0), (2, 3, 6.0)].into_iter().enumerate()
        {
            let mut rnn = SimpleRnn::<f64, Cpu, Sequences>::new(&dev, features, units);
            let (w, u, b) = (
                values(units * features, case),
                values(units * units, case + 10),
                values(units, case + 20),
            );
            rnn.gate.w = dev.tensor_from_vec(w.clone(), (units, features));
            rnn.gate.u = dev.tensor_from_vec(u.clone(), (units, units));
            rnn.gate.b = dev.tensor_from_vec(b.clone(), (units,));
            let xs: Vec<f64> = values(2 * features, case + 30)
                .iter()
                .map(|v| v * scale)
                .collect();
            let states = rnn
                .try_forward(dev.tensor_from_vec(xs.clone(), (1, 2, features)))
                .map_err(|e| format!("the check's own layer failed: {e:?}"))?
                .as_vec();
            let (w, u) = (rows(&w, features), rows(&u, units));
            let (x1, x2) = xs.split_at(features);
            let (h1, h2) = states.split_at(units);
            let input = |t: usize, x: &[f64], h: &[f64]| {
                format!(
                    "{units} units, {features} features, step {t}: W = {}, U = {}, b = {}, x_t = {}, h_prev = {}",
                    show_rows(&w),
                    show_rows(&u),
                    show(&b),
                    show(x),
                    show(h)
                )
            };
            let zeros = vec![0.0; units];
            expect_close(input(1, x1, &zeros), &f(&w, &u, &b, x1, &zeros), h1, 1e-9)?;
            expect_close(input(2, x2, h1), &f(&w, &u, &b, x2, h1), h2, 1e-9)?;
        }
        Ok(())
    })
}

/// One query, and the keys it is scored against.
type Query = Vec<f64>;
type Keys = Vec<Vec<f64>>;

/// Exercise `attention-weights`: `f(query, keys)` must return `softmax(q·k_j / √d_k)` over the
/// keys `j`, where `d_k` is the query's length, as [`scaled_dot_product_attention`] computes it.
pub fn attention_weights(f: fn(&[f64], &[Vec<f64>]) -> Vec<f64>) -> Check {
    check("attention-weights", || {
        let dev = Cpu::default();
        let cases: Vec<(&str, Query, Keys)> = vec![
            (
                "a 4-number query and 3 keys",
                values(4, 1),
                rows(&values(12, 2), 4),
            ),
            (
                "a 1-number query and 2 keys",
                vec![2.0],
                vec![vec![1.0], vec![-1.0]],
            ),
            ("3 equal keys", values(2, 3), vec![values(2, 4); 3]),
            (
                "a 16-number query and 5 keys",
                values(16, 5),
                rows(&values(80, 6), 16),
            ),
            (
                "large scores (q·k ≈ 1,800: exp overflows unless the largest score is subtracted first)",
                vec![30.0; 4],
                vec![vec![15.0; 4], vec![14.0; 4], vec![-15.0; 4]],
            ),
        ];
        for (name, query, keys) in cases {
            let (d, n) = (query.len(), keys.len());
            let q = dev.tensor_from_vec(query.clone(), (1, 1, 1, d));
            let k = dev.tensor_from_vec(keys.concat(), (1, 1, n, d));
            let v = dev.zeros_like(&(1, 1, n, d));
            let (_, weights) = scaled_dot_product_attention(q, k, v, None::<&Tensor<Dyn2, f64, Cpu>>);
            let input = format!("{name}: query = {}, keys = {}", show(&query), show_rows(&keys));
            expect_close(input, &f(&query, &keys), &weights.as_vec(), 1e-9)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::Verdict;

    /// `W x + U h + b`, before the activation.
    fn affine(w: &[Vec<f64>], u: &[Vec<f64>], b: &[f64], x: &[f64], h: &[f64]) -> Vec<f64> {
        (0..b.len())
            .map(|i| {
                let wx: f64 = w[i].iter().zip(x).map(|(a, b)| a * b).sum();
                let uh: f64 = u[i].iter().zip(h).map(|(a, b)| a * b).sum();
                wx + uh + b[i]
            })
            .collect()
    }

    fn step(w: &[Vec<f64>], u: &[Vec<f64>], b: &[f64], x: &[f64], h: &[f64]) -> Vec<f64> {
        affine(w, u, b, x, h).into_iter().map(f64::tanh).collect()
    }

    fn softmax_weights(q: &[f64], keys: &[Vec<f64>], scaled: bool, stable: bool) -> Vec<f64> {
        let d = if scaled { q.len() as f64 } else { 1.0 };
        let scores: Vec<f64> = keys
            .iter()
            .map(|k| k.iter().zip(q).map(|(a, b)| a * b).sum::<f64>() / d.sqrt())
            .collect();
        let max = if stable {
            scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
        } else {
            0.0
        };
        let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
        let total: f64 = exps.iter().sum();
        exps.iter().map(|e| e / total).collect()
    }

    #[test]
    fn inputs_print_short() {
        assert_eq!(
            show(&[0.19999999999999996, -1.0, -0.0, 1.0 / 3.0]),
            "[0.2, -1, 0, 0.333333]"
        );
        assert_eq!(show_rows(&[vec![0.5], vec![]]), "[[0.5], []]");
    }

    #[test]
    fn rnn_step_judges_one_step() {
        assert!(rnn_step(step).is_correct());
        // The chapter's mistake: the tanh forgotten.
        let Verdict::Incorrect(reason) = rnn_step(affine).verdict else {
            panic!("no tanh is wrong")
        };
        assert!(
            reason.starts_with("for 2 units, 3 features, step 1: W = [[-0.65, 0.8, 0.2], "),
            "{reason}"
        );
        // U applied to x (transposed roles) panics or misses; either way incorrect.
        assert!(!rnn_step(|w, u, b, x, h| step(w, u, b, h, x)).is_correct());
        assert_eq!(rnn_step(|_, _, _, _, _| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn attention_weights_judges_the_softmax() {
        assert!(attention_weights(|q, k| softmax_weights(q, k, true, true)).is_correct());
        let Verdict::Incorrect(reason) = attention_weights(|q, k| softmax_weights(q, k, false, true)).verdict
        else {
            panic!("no scaling is wrong")
        };
        assert!(reason.starts_with("for a 4-number query"), "{reason}");
        let Verdict::Incorrect(reason) = attention_weights(|q, k| softmax_weights(q, k, true, false)).verdict
        else {
            panic!("overflow is wrong")
        };
        assert!(
            reason.contains("large scores") && reason.contains("NaN"),
            "{reason}"
        );
        assert_eq!(attention_weights(|_, _| todo!()).verdict, Verdict::NotAttempted);
    }
}
