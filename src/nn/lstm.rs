//! Long short-term memory layer, Keras `LSTM(units, return_sequences=…)`:
//!
//! ```text
//! i_t = σ(W_i x_t + U_i h_{t−1} + b_i)      input gate
//! f_t = σ(W_f x_t + U_f h_{t−1} + b_f)      forget gate
//! g_t = tanh(W_g x_t + U_g h_{t−1} + b_g)   candidate cell
//! o_t = σ(W_o x_t + U_o h_{t−1} + b_o)      output gate
//! c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t
//! h_t = o_t ⊙ tanh(c_t)
//! ```
//!
//! with `h_0 = c_0 = 0`. Shapes and the [`Sequences`](super::Sequences) / [`LastState`] choice
//! are as for [`SimpleRnn`](super::SimpleRnn). Parameters: `4·(F·H + H·H + H)`, as in Keras
//! (one bias per gate); the forget gate's bias starts at 1 (Keras's `unit_forget_bias`).
//!
//! The step-by-step code below is the readable reference, used on every device but `Cpu`;
//! on `Cpu` the four gates run fused in [`kernels::recurrent`](super::kernels), with the
//! input projection of all steps in one GEMM and a hand-written backward through time.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! let mut lstm = Lstm::<f64, Cpu>::new(&dev, 1, 1);
//! for gate in [&mut lstm.input_gate, &mut lstm.forget_gate, &mut lstm.cell_gate, &mut lstm.output_gate] {
//!     gate.w = dev.zeros_like(&(1, 1));
//!     gate.u = dev.zeros_like(&(1, 1));
//!     gate.b = dev.zeros_like(&(1,));
//! }
//! lstm.cell_gate.b = dev.tensor_from_vec(vec![1.0], (1,));
//! let x = dev.zeros_like(&(1, 1, 1)); // one sequence, one step
//! // i = o = σ(0) = ½, g = tanh(1), c_1 = f ⊙ 0 + i ⊙ g, h_1 = o ⊙ tanh(c_1)
//! let c_1 = 0.5 * 1.0_f64.tanh();
//! assert!((lstm.forward(x).as_vec()[0] - 0.5 * c_1.tanh()).abs() < 1e-12);
//! ```

use super::kernels::recurrent::{recurrent, Recurrence};
use super::recurrence::{Gate, RnnResult};
use super::rnn::{recurrent_output_shape, Steps};
use super::{Dyn2, Dyn3, LastState, Real, RnnOutput, Sequences};
use crate::{Error, Result};
use dfdx::prelude::*;
use std::marker::PhantomData;

#[derive(Debug, Clone)]
pub struct Lstm<E: Dtype, D: Storage<E>, O = LastState> {
    pub input_gate: Gate<E, D>,
    pub forget_gate: Gate<E, D>,
    pub cell_gate: Gate<E, D>,
    pub output_gate: Gate<E, D>,
    output: PhantomData<O>,
}

impl<E: Real, D: Device<E>, O: RnnOutput> Lstm<E, D, O> {
    pub fn new(dev: &D, features: usize, units: usize) -> Self {
        let mut forget_gate = Gate::new(dev, features, units);
        forget_gate.b = dev.ones_like(&(units,));
        Self {
            input_gate: Gate::new(dev, features, units),
            forget_gate,
            cell_gate: Gate::new(dev, features, units),
            output_gate: Gate::new(dev, features, units),
            output: PhantomData,
        }
    }

    pub fn features(&self) -> usize {
        self.input_gate.w.shape().1
    }

    pub fn units(&self) -> usize {
        self.input_gate.w.shape().0
    }

    fn run<T: Tape<E, D>>(&self, x: Tensor<Dyn3, E, D, T>) -> Result<RnnResult<E, D, T>> {
        if super::kernels::cpu_path::<E, D>() {
            // The four gates fused into one matrix: one GEMM per step instead of eight.
            recurrent_output_shape::<O>("Lstm", self.features(), self.units(), &x.shape().concrete())?;
            let gates = [
                &self.input_gate,
                &self.forget_gate,
                &self.cell_gate,
                &self.output_gate,
            ];
            return Ok(recurrent(&gates, Recurrence::Lstm, x, O::SEQUENCES));
        }
        let mut steps = Steps::new("Lstm", self.features(), x)?;
        let zeros: Tensor<Dyn2, E, D> = self
            .input_gate
            .b
            .device()
            .zeros_like(&(steps.batch(), self.units()));
        let (mut h_prev, mut c_prev) = (zeros.clone(), zeros);
        for t in 0..steps.len() {
            let x_t = steps.input(t);
            let i_t = self.input_gate.affine::<T>(&x_t, &h_prev).sigmoid();
            let f_t = self.forget_gate.affine::<T>(&x_t, &h_prev).sigmoid();
            let g_t = self.cell_gate.affine::<T>(&x_t, &h_prev).tanh();
            let o_t = self.output_gate.affine::<T>(&x_t, &h_prev).sigmoid();
            let c_t = f_t * c_prev.retaped::<T>() + i_t * g_t; // c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t
            c_prev = steps.keep(c_t);
            let h_t = o_t * c_prev.retaped::<T>().tanh(); // h_t = o_t ⊙ tanh(c_t)
            h_prev = steps.keep(h_t);
            steps.states.push(h_prev.clone());
        }
        Ok(steps.finish::<O>())
    }
}

impl<E: Real, D: Device<E>, O: RnnOutput> super::OutputShape for Lstm<E, D, O> {
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        recurrent_output_shape::<O>("Lstm", self.features(), self.units(), input)
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn3, E, D, T>> for Lstm<E, D, LastState> {
    type Output = Tensor<Dyn2, E, D, T>;
    type Error = Error;
    fn try_forward(&self, x: Tensor<Dyn3, E, D, T>) -> Result<Self::Output> {
        Ok(self.run(x)?.last())
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn3, E, D, T>> for Lstm<E, D, Sequences> {
    type Output = Tensor<Dyn3, E, D, T>;
    type Error = Error;
    fn try_forward(&self, x: Tensor<Dyn3, E, D, T>) -> Result<Self::Output> {
        Ok(self.run(x)?.sequences())
    }
}

impl<E: Real, D: Device<E>, O: RnnOutput> TensorCollection<E, D> for Lstm<E, D, O> {
    type To<E2: Dtype, D2: Device<E2>> = Lstm<E2, D2, O>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::module("input_gate", |s| &s.input_gate, |s| &mut s.input_gate),
                Self::module("forget_gate", |s| &s.forget_gate, |s| &mut s.forget_gate),
                Self::module("cell_gate", |s| &s.cell_gate, |s| &mut s.cell_gate),
                Self::module("output_gate", |s| &s.output_gate, |s| &mut s.output_gate),
            ),
            |(input_gate, forget_gate, cell_gate, output_gate)| Lstm {
                input_gate,
                forget_gate,
                cell_gate,
                output_gate,
                output: PhantomData,
            },
        )
    }
}
