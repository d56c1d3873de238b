//! Helpers for passing dfdx's gradient tape through layers that use a tensor more than once.
//!
//! dfdx keeps the record of operations (the tape) inside one tensor. A recurrent step uses
//! `h_{t-1}` in four gates, attention uses `x` three times. The pattern here: take the tape
//! off a tensor ([`untape`]) into a collector, use the bare tensor as often as needed through
//! `retaped()` (each use records onto a fresh tape), and put the collected tape back on the
//! result ([`with_tapes`]). dfdx orders backward operations by creation time, so merging
//! tapes in any order gives the same gradients.

use dfdx::prelude::*;

/// Moves `t`'s tape into `tapes` and returns the bare tensor.
pub(crate) fn untape<S: Shape, E: Dtype, D: Storage<E>, T: Tape<E, D>>(
    t: Tensor<S, E, D, T>,
    tapes: &mut T,
) -> Tensor<S, E, D> {
    let (t, tape) = t.split_tape();
    *tapes = std::mem::take(tapes).merge(tape);
    t
}

/// Puts the collected `tapes` onto `t`, alongside the tape it already has.
pub(crate) fn with_tapes<S: Shape, E: Dtype, D: Storage<E>, T: Tape<E, D>>(
    t: Tensor<S, E, D, T>,
    tapes: T,
) -> Tensor<S, E, D, T> {
    let (t, tape) = t.split_tape();
    t.put_tape(tape.merge(tapes))
}
