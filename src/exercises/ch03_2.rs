//! Checks for the exercises of chapter 3.2 (tutorials/ch03-2.md): one step of a simple RNN by
//! hand (formula 3.4.3), and backpropagation through time for a one-unit RNN.
//!
//! Both checks take their expected values from the library's [`SimpleRnn`] in f64: its states
//! for the step, dfdx's gradients for the derivatives.

use dfdx::prelude::*;

use super::{check, expect_close, Check};
use crate::nn::{LastState, Sequences, SimpleRnn};

/// The learner's `rnn_step(w, u, b, x_t, h_prev) -> h_t`.
pub type RnnStep = fn(&[Vec<f64>], &[Vec<f64>], &[f64], &[f64], &[f64]) -> Vec<f64>;

/// Exercise `rnn-step`: the learner's `(W, U, b, x_t, h_{t−1}) -> h_t` (`W` as rows, units ×
/// features) against the library's states, `h_t = tanh(W x_t + U h_{t−1} + b)`.
///
/// Sequences of several sizes, with random biases and one with large inputs that saturate
/// the tanh; every step is fed the library's own `h_{t−1}`, so one wrong step is named alone.
pub fn rnn_step(step: RnnStep) -> Check {
    check("rnn-step", || {
        // (features, units, steps, input scale, seed)
        for (features, units, steps, scale, seed) in [
            (2, 3, 3, 1.0, 1),
            (1, 1, 2, 1.0, 2),
            (4, 2, 4, 5.0, 3),
            (3, 5, 3, 0.5, 4),
        ] {
            let case = RnnCase::new(features, units, steps, scale, seed);
            let mut h_prev = vec![0.0; units];
            for t in 0..steps {
                let x_t = case.input(t);
                let got = step(&case.w, &case.u, &case.b, &x_t, &h_prev);
                let input = format!(
                    "step t={} of a {steps}-step sequence ({features} features, {units} units), \
                     x_t={x_t:.3?}, h_(t−1)={h_prev:.3?}",
                    t + 1
                );
                expect_close(input, &got, &case.states[t], 1e-9)?;
                h_prev = case.states[t].clone();
            }
        }
        Ok(())
    })
}

/// A random SimpleRnn, a random sequence, and the states the library computes.
struct RnnCase {
    w: Vec<Vec<f64>>,
    u: Vec<Vec<f64>>,
    b: Vec<f64>,
    xs: Vec<f64>,
    features: usize,
    /// `states[t]` is `h_{t+1}`.
    states: Vec<Vec<f64>>,
}

impl RnnCase {
    fn new(features: usize, units: usize, steps: usize, scale: f64, seed: u64) -> Self {
        let dev = Cpu::seed_from_u64(seed);
        let mut rnn = SimpleRnn::<f64, Cpu, Sequences>::new(&dev, features, units);
        rnn.gate.b = dev.sample_normal_like(&(units,)) * 0.5;
        let x: Tensor<(usize, usize, usize), f64, Cpu> =
            dev.sample_normal_like(&(1, steps, features)) * scale;
        let states = rnn.forward(x.clone()).as_vec();
        RnnCase {
            w: rows(&rnn.gate.w.as_vec(), features),
            u: rows(&rnn.gate.u.as_vec(), units),
            b: rnn.gate.b.as_vec(),
            xs: x.as_vec(),
            features,
            states: rows(&states, units),
        }
    }

    fn input(&self, t: usize) -> Vec<f64> {
        self.xs[t * self.features..(t + 1) * self.features].to_vec()
    }
}

/// A row-major matrix's rows.
fn rows(values: &[f64], width: usize) -> Vec<Vec<f64>> {
    values.chunks(width).map(<[f64]>::to_vec).collect()
}

/// Exercise `last-state-gradient`: `∂h_T/∂x_t` for every `t` of a one-unit tanh RNN, against
/// dfdx's backward pass through the library's SimpleRnn.
pub fn last_state_gradient(grad: fn(f64, f64, f64, &[f64]) -> Vec<f64>) -> Check {
    check("last-state-gradient", || {
        // (w, u, b, xs): a plain case, one step, no recurrence (u = 0), saturated inputs.
        let cases: [(f64, f64, f64, Vec<f64>); 5] = [
            (0.8, 0.9, 0.1, vec![0.5, -0.3, 0.2, 0.7, -0.1]),
            (1.2, 0.5, 0.0, vec![0.4]),
            (0.7, 0.0, -0.2, vec![0.3, 0.1, -0.5]),
            (1.5, 1.5, 0.0, vec![2.0, 2.0, 2.0, 2.0, 2.0, 2.0]),
            (0.9, -1.1, 0.3, vec![0.2, -0.4, 0.6, -0.8]),
        ];
        for (w, u, b, xs) in cases {
            let want = library_gradient(w, u, b, &xs);
            let got = grad(w, u, b, &xs);
            let input = format!("w={w}, u={u}, b={b}, xs={xs:?}");
            expect_close(input, &got, &want, 1e-9)?;
        }
        Ok(())
    })
}

/// `∂h_T/∂x_t` for each `t`, by dfdx's backward through a one-unit [`SimpleRnn`].
pub fn library_gradient(w: f64, u: f64, b: f64, xs: &[f64]) -> Vec<f64> {
    let dev = Cpu::default();
    let mut rnn = SimpleRnn::<f64, Cpu, LastState>::new(&dev, 1, 1);
    rnn.gate.w = dev.tensor_from_vec(vec![w], (1, 1));
    rnn.gate.u = dev.tensor_from_vec(vec![u], (1, 1));
    rnn.gate.b = dev.tensor_from_vec(vec![b], (1,));
    let x = dev.tensor_from_vec(xs.to_vec(), (1, xs.len(), 1));
    let h_last = rnn.forward(x.leaky_trace());
    let grads = h_last.sum().backward();
    grads.get(&x).as_vec()
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;

    fn step_solution(w: &[Vec<f64>], u: &[Vec<f64>], b: &[f64], x: &[f64], h: &[f64]) -> Vec<f64> {
        (0..b.len())
            .map(|j| {
                let wx: f64 = w[j].iter().zip(x).map(|(a, b)| a * b).sum();
                let uh: f64 = u[j].iter().zip(h).map(|(a, b)| a * b).sum();
                (wx + uh + b[j]).tanh()
            })
            .collect()
    }

    /// The chapter's mistake: the previous state is left out.
    fn step_mistake(w: &[Vec<f64>], _u: &[Vec<f64>], b: &[f64], x: &[f64], _h: &[f64]) -> Vec<f64> {
        (0..b.len())
            .map(|j| {
                let wx: f64 = w[j].iter().zip(x).map(|(a, b)| a * b).sum();
                (wx + b[j]).tanh()
            })
            .collect()
    }

    #[test]
    fn rnn_step_verdicts() {
        assert!(rnn_step(step_solution).is_correct());
        let Verdict::Incorrect(reason) = rnn_step(step_mistake).verdict else {
            panic!("the mistake must be incorrect")
        };
        // Step 1 starts from h_0 = 0, so the mistake first shows at step 2.
        assert!(reason.contains("step t=2"), "{reason}");
        assert!(reason.contains("expected"), "{reason}");
        assert_eq!(rnn_step(|_, _, _, _, _| todo!()).verdict, Verdict::NotAttempted);
    }

    fn grad_solution(w: f64, u: f64, b: f64, xs: &[f64]) -> Vec<f64> {
        let mut hs = Vec::new();
        let mut h = 0.0;
        for &x in xs {
            h = (w * x + u * h + b).tanh();
            hs.push(h);
        }
        let mut grads = vec![0.0; xs.len()];
        let mut carry = 1.0;
        for t in (0..xs.len()).rev() {
            let da = carry * (1.0 - hs[t] * hs[t]);
            grads[t] = da * w;
            carry = da * u;
        }
        grads
    }

    /// The chapter's mistake: the tanh derivatives are left out of the chain.
    fn grad_mistake(w: f64, u: f64, _b: f64, xs: &[f64]) -> Vec<f64> {
        let n = xs.len();
        (0..n).map(|t| w * u.powi((n - 1 - t) as i32)).collect()
    }

    #[test]
    fn last_state_gradient_verdicts() {
        assert!(last_state_gradient(grad_solution).is_correct());
        let Verdict::Incorrect(reason) = last_state_gradient(grad_mistake).verdict else {
            panic!("the mistake must be incorrect")
        };
        assert!(reason.contains("w=0.8"), "{reason}");
        assert_eq!(
            last_state_gradient(|_, _, _, _| todo!()).verdict,
            Verdict::NotAttempted
        );
    }

    #[test]
    fn the_library_gradient_matches_finite_differences() {
        let xs = [0.5, -0.3, 0.2];
        let g = library_gradient(0.8, 0.9, 0.1, &xs);
        let last = |xs: &[f64]| {
            let mut h = 0.0f64;
            for &x in xs {
                h = (0.8 * x + 0.9 * h + 0.1).tanh();
            }
            h
        };
        for t in 0..xs.len() {
            let (mut up, mut down) = (xs, xs);
            up[t] += 1e-6;
            down[t] -= 1e-6;
            let numeric = (last(&up) - last(&down)) / 2e-6;
            assert!((numeric - g[t]).abs() < 1e-8, "t={t}: {numeric} vs {}", g[t]);
        }
    }
}
