//! Checks for the exercises of chapter 4.2 (tutorials/ch04-2.md): an LSTM layer's parameter
//! count, and one LSTM step by hand through its four gates.
//!
//! Expected values come from the library's [`Lstm`]: its parameter count as dfdx counts it,
//! and its hidden states in f64.

use dfdx::prelude::*;

use super::{check, expect_close, expect_eq, Check};
use crate::nn::rnn::Gate;
use crate::nn::{Lstm, Sequences};

/// Exercise `lstm-params`: trainable parameters of `LSTM(units)` on `features` inputs, against
/// the library's count (Keras counts the same).
pub fn lstm_params(count: fn(usize, usize) -> usize) -> Check {
    check("lstm-params", || {
        let dev = Cpu::default();
        // The book's two layers, then edge cases: one unit, one feature, wide inputs.
        for (features, units) in [(10, 64), (64, 64), (1, 1), (100, 1), (1, 100), (3, 7)] {
            let want = Lstm::<f32, Cpu>::new(&dev, features, units).num_trainable_params();
            let input = format!("features={features}, units={units}");
            expect_eq(input, count(features, units), want)?;
        }
        Ok(())
    })
}

/// One gate's weights as plain numbers: `w` is units × features, `u` units × units.
#[derive(Clone, Debug, PartialEq)]
pub struct GateWeights {
    pub w: Vec<Vec<f64>>,
    pub u: Vec<Vec<f64>>,
    pub b: Vec<f64>,
}

impl GateWeights {
    /// `W x + U h + b`, one value per unit (before the gate's σ or tanh).
    pub fn affine(&self, x: &[f64], h: &[f64]) -> Vec<f64> {
        let dot = |row: &[f64], v: &[f64]| row.iter().zip(v).map(|(a, b)| a * b).sum::<f64>();
        (0..self.b.len())
            .map(|j| dot(&self.w[j], x) + dot(&self.u[j], h) + self.b[j])
            .collect()
    }

    fn of(gate: &Gate<f64, Cpu>) -> Self {
        let rows = |v: Vec<f64>, width: usize| v.chunks(width).map(<[f64]>::to_vec).collect::<Vec<_>>();
        GateWeights {
            w: rows(gate.w.as_vec(), gate.w.shape().1),
            u: rows(gate.u.as_vec(), gate.u.shape().1),
            b: gate.b.as_vec(),
        }
    }
}

/// An LSTM layer's four gates as plain numbers (see [`Lstm`] for the formulas).
#[derive(Clone, Debug, PartialEq)]
pub struct LstmCell {
    /// `i_t = σ(input.affine(x_t, h_{t−1}))`
    pub input: GateWeights,
    /// `f_t = σ(forget.affine(x_t, h_{t−1}))`
    pub forget: GateWeights,
    /// `g_t = tanh(cell.affine(x_t, h_{t−1}))`
    pub cell: GateWeights,
    /// `o_t = σ(output.affine(x_t, h_{t−1}))`
    pub output: GateWeights,
}

impl LstmCell {
    /// The weights of a library LSTM layer (f64).
    pub fn of<O>(lstm: &Lstm<f64, Cpu, O>) -> Self {
        LstmCell {
            input: GateWeights::of(&lstm.input_gate),
            forget: GateWeights::of(&lstm.forget_gate),
            cell: GateWeights::of(&lstm.cell_gate),
            output: GateWeights::of(&lstm.output_gate),
        }
    }
}

/// The learner's `lstm_step(cell, x_t, h_prev, c_prev) -> (h_t, c_t)`.
pub type LstmStep = fn(&LstmCell, &[f64], &[f64], &[f64]) -> (Vec<f64>, Vec<f64>);

/// Exercise `lstm-step`: the learner's `(cell, x_t, h_{t−1}, c_{t−1}) -> (h_t, c_t)` run along
/// sequences, its `h_t` against the library's states at every step.
///
/// The learner's own `(h, c)` is carried to the next step, so a wrong cell state shows in
/// the next `h`. Cases: random biases, one unit, and large inputs that saturate the gates.
pub fn lstm_step(step: LstmStep) -> Check {
    check("lstm-step", || {
        // (features, units, steps, input scale, seed); large inputs first, so that a wrong
        // step shows in clearly different numbers rather than in the sixth decimal.
        for (features, units, steps, scale, seed) in [
            (3, 2, 3, 4.0, 3),
            (2, 3, 4, 1.0, 1),
            (1, 1, 3, 1.0, 2),
            (4, 5, 2, 0.5, 4),
        ] {
            let dev = Cpu::seed_from_u64(seed);
            let mut lstm = Lstm::<f64, Cpu, Sequences>::new(&dev, features, units);
            for gate in [
                &mut lstm.input_gate,
                &mut lstm.forget_gate,
                &mut lstm.cell_gate,
                &mut lstm.output_gate,
            ] {
                gate.b = gate.b.clone() + dev.sample_normal_like(&(units,)) * 0.5;
            }
            let x: Tensor<(usize, usize, usize), f64, Cpu> =
                dev.sample_normal_like(&(1, steps, features)) * scale;
            let states = lstm.forward(x.clone()).as_vec();
            let xs = x.as_vec();
            let cell = LstmCell::of(&lstm);
            let (mut h, mut c) = (vec![0.0; units], vec![0.0; units]);
            for t in 0..steps {
                let x_t = &xs[t * features..(t + 1) * features];
                let (h_t, c_t) = step(&cell, x_t, &h, &c);
                let input = format!(
                    "step t={} of a {steps}-step sequence ({features} features, {units} units), \
                     comparing h_t",
                    t + 1
                );
                expect_close(input, &h_t, &states[t * units..(t + 1) * units], 1e-9)?;
                if c_t.len() != units {
                    return Err(format!(
                        "at step t={}: c_t has {} values, expected {units} (one per unit)",
                        t + 1,
                        c_t.len()
                    ));
                }
                (h, c) = (h_t, c_t);
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::super::Verdict;
    use super::*;

    fn sigmoid(a: f64) -> f64 {
        1.0 / (1.0 + (-a).exp())
    }

    fn gates(cell: &LstmCell, x: &[f64], h: &[f64]) -> [Vec<f64>; 4] {
        [
            cell.input.affine(x, h).into_iter().map(sigmoid).collect(),
            cell.forget.affine(x, h).into_iter().map(sigmoid).collect(),
            cell.cell.affine(x, h).into_iter().map(f64::tanh).collect(),
            cell.output.affine(x, h).into_iter().map(sigmoid).collect(),
        ]
    }

    fn solution(cell: &LstmCell, x: &[f64], h: &[f64], c: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let [i, f, g, o] = gates(cell, x, h);
        let c_t: Vec<f64> = (0..c.len()).map(|j| f[j] * c[j] + i[j] * g[j]).collect();
        let h_t = (0..c.len()).map(|j| o[j] * c_t[j].tanh()).collect();
        (h_t, c_t)
    }

    /// The chapter's mistake: `h_t = o_t ⊙ c_t`, without the tanh.
    fn mistake(cell: &LstmCell, x: &[f64], h: &[f64], c: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let [i, f, g, o] = gates(cell, x, h);
        let c_t: Vec<f64> = (0..c.len()).map(|j| f[j] * c[j] + i[j] * g[j]).collect();
        let h_t = (0..c.len()).map(|j| o[j] * c_t[j]).collect();
        (h_t, c_t)
    }

    #[test]
    fn lstm_step_verdicts() {
        assert!(lstm_step(solution).is_correct());
        let Verdict::Incorrect(reason) = lstm_step(mistake).verdict else {
            panic!("the mistake must be incorrect")
        };
        assert!(reason.contains("step t=1"), "{reason}");
        assert_eq!(lstm_step(|_, _, _, _| todo!()).verdict, Verdict::NotAttempted);
    }

    #[test]
    fn lstm_params_verdicts() {
        let formula = |x: usize, h: usize| 4 * (h * (h + x) + h);
        assert!(lstm_params(formula).is_correct());
        // The mistake: a simple RNN's count, one gate instead of four.
        let Verdict::Incorrect(reason) = lstm_params(|x, h| h * (h + x) + h).verdict else {
            panic!("the mistake must be incorrect")
        };
        assert!(reason.contains("features=10, units=64"), "{reason}");
        assert!(reason.contains("expected 19200, got 4800"), "{reason}");
        assert_eq!(lstm_params(|_, _| todo!()).verdict, Verdict::NotAttempted);
    }
}
