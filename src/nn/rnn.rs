//! Simple recurrent layer, Keras `SimpleRNN(units)`, book formula 3.4.3:
//!
//! `h_t = tanh(W x_t + U h_{t−1} + b)`, with `h_0 = 0`.
//!
//! Shapes: `(batch, steps, features) -> (batch, units)` (the last state, [`LastState`]) or
//! `(batch, steps, units)` (every state, [`Sequences`], Keras's `return_sequences=True`),
//! chosen by the layer's type so each forward has one output rank:
//! `SimpleRnn<f32, Cpu, Sequences>` can feed a second recurrent layer.
//!
//! [`Gate`] (in [`recurrence`](super::recurrence), shared with the LSTM and the CPU kernel) is
//! the affine map `W x_t + U h_{t−1} + b` that the RNN uses once per step and the LSTM four
//! times; [`Steps`] collects the states and the gradient tape along the sequence.
//!
//! This step-by-step version is the readable reference and runs on every device. On dfdx's
//! `Cpu` the layer runs [`kernels::recurrent`](super::kernels) instead: `W x_t + b` for all
//! steps in one GEMM, `U h_{t−1}` one GEMM per step, and backpropagation through time by
//! hand; both are checked against the plain-loop formula and finite differences.
//!
//! ```
//! use ferrolab::prelude::*;
//! let dev = Cpu::default();
//! let mut rnn = SimpleRnn::<f64, Cpu>::new(&dev, 1, 1); // b starts at 0
//! rnn.gate.w = dev.tensor_from_vec(vec![0.5], (1, 1));
//! rnn.gate.u = dev.tensor_from_vec(vec![1.0], (1, 1));
//! let x = dev.tensor_from_vec(vec![1.0, 2.0], (1, 2, 1)); // one sequence of two steps
//! let h_1 = (0.5 * 1.0_f64).tanh();
//! let h_2 = (0.5 * 2.0 + h_1).tanh();
//! assert!((rnn.forward(x).as_vec()[0] - h_2).abs() < 1e-12);
//! ```

use super::kernels::recurrent::{recurrent, Recurrence};
use super::recurrence::RnnResult;
pub use super::recurrence::{Gate, LastState, RnnOutput, Sequences};
use super::{expect_rank, tapes::*, Dyn2, Dyn3, Real};
use crate::{Error, Result};
use dfdx::prelude::*;
use std::marker::PhantomData;

/// A sequence split into steps, and the states a recurrent layer computes from them.
///
/// The input's tape and every step's tape are collected here, so each `x_t` and `h_t` can be
/// used several times; [`Steps::finish`] puts them back on the layer's output.
pub(crate) struct Steps<E: Dtype, D: Storage<E>, T> {
    x: Tensor<Dyn3, E, D>,
    pub states: Vec<Tensor<Dyn2, E, D>>,
    tapes: T,
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Steps<E, D, T> {
    /// Checks `(batch, steps, features)` and takes the tape off `x`.
    pub fn new(layer: &str, features: usize, x: Tensor<Dyn3, E, D, T>) -> Result<Self> {
        let dims = x.shape().concrete();
        let expected = format!("(batch, steps, {features})");
        let [_, steps, f] = expect_rank::<3>(layer, &expected, &dims)?;
        if f != features || steps == 0 {
            return Err(Error::shape(layer, expected + " with steps ≥ 1", &dims));
        }
        let mut tapes = T::default();
        let x = untape(x, &mut tapes);
        Ok(Self {
            x,
            states: Vec::with_capacity(steps),
            tapes,
        })
    }

    pub fn len(&self) -> usize {
        self.x.shape().1
    }

    pub fn batch(&self) -> usize {
        self.x.shape().0
    }

    /// `x_t`, shape `(batch, features)`.
    pub fn input(&mut self, t: usize) -> Tensor<Dyn2, E, D> {
        let (b, _, f) = *self.x.shape();
        let x_t = self
            .x
            .retaped::<T>()
            .slice((.., t..t + 1, ..))
            .reshape_like(&(b, f));
        self.keep(x_t)
    }

    /// Takes the tape off a freshly computed tensor so it can be reused bare.
    pub fn keep<S: Shape>(&mut self, t: Tensor<S, E, D, T>) -> Tensor<S, E, D> {
        untape(t, &mut self.tapes)
    }

    /// The layer's output: the last state, or all states stacked `(batch, steps, units)`.
    pub fn finish<O: RnnOutput>(self) -> RnnResult<E, D, T> {
        if O::SEQUENCES {
            let stacked = self
                .states
                .into_iter()
                .map(|h| h.retaped::<T>())
                .collect::<Vec<_>>()
                .stack(); // (T, B, H)
            let seq = stacked.permute::<Dyn3, Axes3<1, 0, 2>>(); // (B, T, H)
            RnnResult::Sequences(with_tapes(seq, self.tapes))
        } else {
            let last = self.states.last().expect("at least one step").retaped::<T>();
            RnnResult::Last(with_tapes(last, self.tapes))
        }
    }
}

/// Keras `SimpleRNN(units)`: `h_t = tanh(W x_t + U h_{t−1} + b)`.
#[derive(Debug, Clone)]
pub struct SimpleRnn<E: Dtype, D: Storage<E>, O = LastState> {
    /// `W`, `U`, `b` of `h_t = tanh(W x_t + U h_{t−1} + b)`.
    pub gate: Gate<E, D>,
    output: PhantomData<O>,
}

impl<E: Real, D: Device<E>, O: RnnOutput> SimpleRnn<E, D, O> {
    pub fn new(dev: &D, features: usize, units: usize) -> Self {
        Self {
            gate: Gate::new(dev, features, units),
            output: PhantomData,
        }
    }

    pub fn features(&self) -> usize {
        self.gate.w.shape().1
    }

    pub fn units(&self) -> usize {
        self.gate.w.shape().0
    }

    fn run<T: Tape<E, D>>(&self, x: Tensor<Dyn3, E, D, T>) -> Result<RnnResult<E, D, T>> {
        if super::kernels::cpu_path::<E, D>() {
            // The same recurrence, one GEMM per step, with a hand-written backward through time.
            recurrent_output_shape::<O>("SimpleRnn", self.features(), self.units(), &x.shape().concrete())?;
            return Ok(recurrent(&[&self.gate], Recurrence::Tanh, x, O::SEQUENCES));
        }
        let mut steps = Steps::new("SimpleRnn", self.features(), x)?;
        let mut h_prev: Tensor<Dyn2, E, D> = self.gate.b.device().zeros_like(&(steps.batch(), self.units()));
        for t in 0..steps.len() {
            let x_t = steps.input(t);
            let h_t = self.gate.affine::<T>(&x_t, &h_prev).tanh(); // h_t = tanh(W x_t + U h_{t-1} + b)
            h_prev = steps.keep(h_t);
            steps.states.push(h_prev.clone());
        }
        Ok(steps.finish::<O>())
    }
}

impl<E: Real, D: Device<E>, O: RnnOutput> super::OutputShape for SimpleRnn<E, D, O> {
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        recurrent_output_shape::<O>("SimpleRnn", self.features(), self.units(), input)
    }
}

/// `(batch, steps, features)` -> `(batch, steps, units)` or `(batch, units)`.
pub(crate) fn recurrent_output_shape<O: RnnOutput>(
    layer: &str,
    features: usize,
    units: usize,
    input: &[usize],
) -> Result<Vec<usize>> {
    let expected = format!("(batch, steps, {features})");
    match expect_rank::<3>(layer, &expected, input)? {
        [b, t, f] if f == features && t > 0 => Ok(if O::SEQUENCES {
            vec![b, t, units]
        } else {
            vec![b, units]
        }),
        _ => Err(Error::shape(layer, expected + " with steps ≥ 1", input)),
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn3, E, D, T>> for SimpleRnn<E, D, LastState> {
    type Output = Tensor<Dyn2, E, D, T>;
    type Error = Error;
    fn try_forward(&self, x: Tensor<Dyn3, E, D, T>) -> Result<Self::Output> {
        Ok(self.run(x)?.last())
    }
}

impl<E: Real, D: Device<E>, T: Tape<E, D>> Module<Tensor<Dyn3, E, D, T>> for SimpleRnn<E, D, Sequences> {
    type Output = Tensor<Dyn3, E, D, T>;
    type Error = Error;
    fn try_forward(&self, x: Tensor<Dyn3, E, D, T>) -> Result<Self::Output> {
        Ok(self.run(x)?.sequences())
    }
}

impl<E: Real, D: Device<E>, O: RnnOutput> TensorCollection<E, D> for SimpleRnn<E, D, O> {
    type To<E2: Dtype, D2: Device<E2>> = SimpleRnn<E2, D2, O>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(Self::module("gate", |s| &s.gate, |s| &mut s.gate), |gate| {
            SimpleRnn {
                gate,
                output: PhantomData,
            }
        })
    }
}
