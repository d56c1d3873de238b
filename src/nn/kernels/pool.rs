//! Max and average pooling on the CPU, one pass over each `(batch, channel)` plane.
//!
//! Max pooling records, for every output, the flat index of its window's maximum; the
//! backward adds `dy` at those indices (`dx[argmax] += dy`), as PyTorch does. On ties the
//! first maximum in row-major window order takes the whole gradient, where dfdx's generic
//! `max` splits it evenly; the two differ only on exact ties, which random data does not
//! have. Average pooling spreads `dy / k²` over the window. Planes run in parallel on rayon.

use super::{contiguous, cpu_grads, grad_mut, put_grad, simd, take_grad, tensor, values};
use crate::nn::{Dyn4, Real};
use dfdx::prelude::*;
use rayon::prelude::*;

/// Max (`average == false`) or average pooling of `x` `(B, C, H, W)` over `k×k` windows `s`
/// apart, into `out` `(B, C, H', W')`.
pub(crate) fn pool2d<E: Real, D: Device<E>, T: Tape<E, D>>(
    x: Tensor<Dyn4, E, D, T>,
    (k, s): (usize, usize),
    out: [usize; 4],
    average: bool,
) -> Tensor<Dyn4, E, D, T> {
    let (x, mut tape) = contiguous(x).split_tape();
    let (_, _, h, w) = *x.shape();
    let [b, c, oh, ow] = out;
    let g = Planes { k, s, w, oh, ow };
    let xv = values(&x);
    let (plane_in, plane_out) = (h * w, oh * ow);
    let mut y = vec![E::zero(); b * c * plane_out];
    // For max pooling: argmax[o] = index into the input plane of the chosen element.
    let mut argmax = vec![0u32; if average { 0 } else { y.len() }];
    if average {
        y.par_chunks_mut(plane_out)
            .zip(xv.par_chunks(plane_in))
            .for_each(|(y_p, x_p)| g.average(x_p, y_p));
    } else {
        y.par_chunks_mut(plane_out)
            .zip(argmax.par_chunks_mut(plane_out))
            .zip(xv.par_chunks(plane_in))
            .for_each(|((y_p, a_p), x_p)| g.max(x_p, y_p, a_p));
    }
    let y: Tensor<Dyn4, E, D> = tensor(&x, y, (b, c, oh, ow));

    if T::OWNS_TAPE {
        let y_id = y.clone();
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let dy = take_grad(grads, &y_id);
            let dx = grad_mut(grads, &x);
            if average {
                dx.par_chunks_mut(plane_in)
                    .zip(dy.par_chunks(plane_out))
                    .for_each(|(dx_p, dy_p)| g.average_backward(dy_p, dx_p));
            } else {
                dx.par_chunks_mut(plane_in)
                    .zip(dy.par_chunks(plane_out).zip(argmax.par_chunks(plane_out)))
                    .for_each(|(dx_p, (dy_p, a_p))| max_backward(dy_p, a_p, dx_p));
            }
            put_grad(grads, &y_id, dy);
            Ok(())
        });
    }
    y.put_tape(tape)
}

/// The window size `k`, stride `s`, input width `w` and output size `oh × ow` of one plane.
#[derive(Debug, Clone, Copy)]
struct Planes {
    k: usize,
    s: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

impl Planes {
    /// `y = mean of the window` for one plane.
    fn average<E: Real>(&self, x_p: &[E], y_p: &mut [E]) {
        let Planes { k, s, w, oh, ow } = *self;
        let scale = E::one() / E::from_usize(k * k).unwrap();
        for i in 0..oh {
            for j in 0..ow {
                let mut sum = E::zero();
                for m in 0..k {
                    let row = &x_p[(i * s + m) * w + j * s..][..k];
                    sum = row.iter().fold(sum, |a, &v| a + v);
                }
                y_p[i * ow + j] = sum * scale;
            }
        }
    }

    /// The backward of [`Planes::average`]: `dx += dy / k²` over each window.
    fn average_backward<E: Real>(&self, dy_p: &[E], dx_p: &mut [E]) {
        let Planes { k, s, w, oh, ow } = *self;
        let scale = E::one() / E::from_usize(k * k).unwrap();
        for i in 0..oh {
            for j in 0..ow {
                let g = dy_p[i * ow + j] * scale;
                for m in 0..k {
                    for v in &mut dx_p[(i * s + m) * w + j * s..][..k] {
                        *v += g;
                    }
                }
            }
        }
    }

    /// `y = max of the window` for one plane, and where it is (`a_p`, an index into the plane).
    fn max<E: Real>(&self, x_p: &[E], y_p: &mut [E], a_p: &mut [u32]) {
        let Planes { k, s, w, oh: _, ow } = *self;
        if k == 2 && s == 2 {
            return simd(
                #[inline(always)]
                || max_2x2(x_p, w, y_p, a_p, ow),
            );
        }
        let rows = y_p.chunks_exact_mut(ow).zip(a_p.chunks_exact_mut(ow));
        for (i, (y_row, a_row)) in rows.enumerate() {
            for (j, (y, a)) in y_row.iter_mut().zip(a_row.iter_mut()).enumerate() {
                let corner = i * s * w + j * s; // the window's top-left input
                let (mut best, mut at) = (x_p[corner], corner);
                for m in 0..k {
                    let row = &x_p[corner + m * w..][..k];
                    for (n, &v) in row.iter().enumerate() {
                        // Selects on locals, not branches: on random data a branch here
                        // is mispredicted half the time. Strictly greater, so the first
                        // maximum in row-major window order wins ties.
                        let greater = v > best;
                        best = if greater { v } else { best };
                        at = if greater { corner + m * w + n } else { at };
                    }
                }
                *y = best;
                *a = at as u32;
            }
        }
    }
}

/// The backward of max pooling for one plane: `dx[argmax] += dy`.
fn max_backward<E: Real>(dy_p: &[E], a_p: &[u32], dx_p: &mut [E]) {
    for (&g, &at) in dy_p.iter().zip(a_p) {
        dx_p[at as usize] += g;
    }
}

/// The book's case, 2×2 windows with stride 2, for one plane: each output reads a pair from
/// two input rows. Walking the rows in pairs of elements leaves no index to bounds-check and
/// no branch, so it vectorises; the first maximum in row-major window order wins, as above.
#[inline(always)]
fn max_2x2<E: Real>(x_p: &[E], w: usize, y_p: &mut [E], a_p: &mut [u32], ow: usize) {
    let rows = y_p.chunks_exact_mut(ow).zip(a_p.chunks_exact_mut(ow));
    for (i, (y_row, a_row)) in rows.enumerate() {
        let top = 2 * i * w; // index of the input row 2i
        let (r0, r1) = (&x_p[top..][..2 * ow], &x_p[top + w..][..2 * ow]);
        let windows = r0.chunks_exact(2).zip(r1.chunks_exact(2));
        for (j, ((y, a), (p, q))) in y_row.iter_mut().zip(a_row.iter_mut()).zip(windows).enumerate() {
            let corner = (top + 2 * j) as u32;
            let (mut best, mut at) = (p[0], corner);
            for (v, offset) in [(p[1], 1), (q[0], w as u32), (q[1], w as u32 + 1)] {
                let greater = v > best;
                best = if greater { v } else { best };
                at = if greater { corner + offset } else { at };
            }
            *y = best;
            *a = at;
        }
    }
}
