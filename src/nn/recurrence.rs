//! What the recurrent layers ([`SimpleRnn`](super::SimpleRnn), [`Lstm`](super::Lstm)) and
//! their CPU kernel share: the gate `W x_t + U h_{t−1} + b`, and the choice between every
//! state and the last one, as a type ([`RnnOutput`]) and as a value ([`RnnResult`]).
//!
//! It sits apart from both so that the layers use the kernel and the kernel uses these
//! types without either importing the other.

use super::{glorot, trainable, trainable_zeros, Dyn1, Dyn2, Dyn3, Real};
use dfdx::prelude::*;

/// What a recurrent layer returns: every state or only the last.
pub trait RnnOutput: Copy + Default + std::fmt::Debug + Send + Sync + 'static {
    const SEQUENCES: bool;
}

/// Return every state `h_1 … h_T`: `(batch, steps, units)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sequences;
/// Return the last state `h_T`: `(batch, units)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastState;

impl RnnOutput for Sequences {
    const SEQUENCES: bool = true;
}
impl RnnOutput for LastState {
    const SEQUENCES: bool = false;
}

/// `W x_t + U h_{t−1} + b`: `W` is `(units, features)`, `U` is `(units, units)`, `b` is `(units,)`.
#[derive(Debug, Clone)]
pub struct Gate<E: Dtype, D: Storage<E>> {
    pub w: Tensor<Dyn2, E, D>,
    pub u: Tensor<Dyn2, E, D>,
    pub b: Tensor<Dyn1, E, D>,
}

impl<E: Real, D: Device<E>> Gate<E, D> {
    pub fn new(dev: &D, features: usize, units: usize) -> Self {
        Self {
            w: glorot(dev, (units, features), features, units),
            u: glorot(dev, (units, units), units, units),
            b: dev.zeros_like(&(units,)),
        }
    }

    /// `W x_t + U h_{t−1} + b` for a batch: `(B, F)`, `(B, H)` -> `(B, H)`.
    pub fn affine<T: Tape<E, D>>(
        &self,
        x_t: &Tensor<Dyn2, E, D>,
        h_prev: &Tensor<Dyn2, E, D>,
    ) -> Tensor<Dyn2, E, D, T> {
        let wx = x_t
            .retaped::<T>()
            .matmul(self.w.retaped::<T>().permute::<Dyn2, Axes2<1, 0>>()); // (B,F)x(F,H)
        let uh = h_prev
            .retaped::<T>()
            .matmul(self.u.retaped::<T>().permute::<Dyn2, Axes2<1, 0>>()); // (B,H)x(H,H)
        let shape = *wx.shape();
        wx + uh + self.b.retaped::<T>().broadcast_like::<Dyn2, Axis<0>>(&shape)
    }
}

impl<E: Real, D: Device<E>> TensorCollection<E, D> for Gate<E, D> {
    type To<E2: Dtype, D2: Device<E2>> = Gate<E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor("w", |s| &s.w, |s| &mut s.w, trainable()),
                Self::tensor("u", |s| &s.u, |s| &mut s.u, trainable()),
                Self::tensor("b", |s| &s.b, |s| &mut s.b, trainable_zeros()),
            ),
            |(w, u, b)| Gate { w, u, b },
        )
    }
}

/// A recurrent layer's output with its tape: every state `(B, T, H)` or the last `(B, H)`.
#[derive(Debug, Clone)]
pub(crate) enum RnnResult<E: Dtype, D: Storage<E>, T> {
    Sequences(Tensor<Dyn3, E, D, T>),
    Last(Tensor<Dyn2, E, D, T>),
}

impl<E: Dtype, D: Storage<E>, T> RnnResult<E, D, T> {
    pub fn sequences(self) -> Tensor<Dyn3, E, D, T> {
        match self {
            RnnResult::Sequences(t) => t,
            RnnResult::Last(_) => unreachable!("asked for sequences"),
        }
    }
    pub fn last(self) -> Tensor<Dyn2, E, D, T> {
        match self {
            RnnResult::Last(t) => t,
            RnnResult::Sequences(_) => unreachable!("asked for the last state"),
        }
    }
}

impl<E: Dtype, D: Storage<E>> RnnResult<E, D, NoneTape> {
    /// The same output with `tape` on it.
    pub fn put_tape<T>(self, tape: T) -> RnnResult<E, D, T> {
        match self {
            RnnResult::Sequences(t) => RnnResult::Sequences(t.put_tape(tape)),
            RnnResult::Last(t) => RnnResult::Last(t.put_tape(tape)),
        }
    }
}
