//! Conv2D on the CPU: im2col into a per-image buffer, then one GEMM per image; backward
//! with two GEMMs per image and a col2im scatter-add. Images run in parallel on rayon.
//!
//! Per image `b`, with `P = H'·W'` output positions and `K = C·k·k` window values:
//!
//! ```text
//! cols[(c, m, n), (i, j)] = x[b, c, i·s + m − p, j·s + n − p]   (0 in the padding)   (K, P)
//! y_b   = W · cols + b                                              (O, K) x (K, P) -> (O, P)
//! dW   += dy_b · colsᵀ                                              (O, P) x (P, K) -> (O, K)
//! db   += Σ_P dy_b
//! dcols = Wᵀ · dy_b,  dx_b = col2im(dcols)                          (K, O) x (O, P) -> (K, P)
//! ```
//!
//! The output is already `(B, O, H', W')`, so no permute is needed. The backward rebuilds
//! `cols` instead of keeping them (they are as large as the input times k², and rebuilding
//! is cheaper than the memory traffic). Limits: square kernels, equal stride and padding on
//! both axes, as the layer itself.

use super::reduce;
use super::{add_into, contiguous, cpu_grads, grad_mut, matmul, put_grad, take_grad, tensor, values};
use super::{simd, Mat, MatMut, Threads, Write};
use crate::nn::{Dyn1, Dyn4, Real};
use dfdx::prelude::*;
use rayon::prelude::*;

/// Sizes of one convolution, in the names of the formula above.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    p: usize,
    oh: usize,
    ow: usize,
}

impl Geometry {
    fn window(&self) -> usize {
        self.c * self.k * self.k
    }
    fn positions(&self) -> usize {
        self.oh * self.ow
    }

    /// The output columns `j` whose input column `j·s + n − p` is inside the image.
    fn valid_columns(&self, n: usize) -> std::ops::Range<usize> {
        let (s, p) = (self.s, self.p);
        let lo = if p > n { (p - n).div_ceil(s) } else { 0 };
        let hi = if self.w + p > n {
            ((self.w + p - n - 1) / s + 1).min(self.ow)
        } else {
            0
        };
        lo.min(hi)..hi
    }

    /// Fills `cols` `(K, P)` from one image `x_b` `(C, H, W)`.
    fn im2col<E: Real>(&self, x_b: &[E], cols: &mut [E]) {
        let (k, s, p, ow) = (self.k, self.s, self.p, self.ow);
        let positions = self.positions();
        for ci in 0..self.c {
            let plane = &x_b[ci * self.h * self.w..(ci + 1) * self.h * self.w];
            for m in 0..k {
                for n in 0..k {
                    let row = &mut cols[((ci * k + m) * k + n) * positions..][..positions];
                    let js = self.valid_columns(n);
                    for i in 0..self.oh {
                        let out = &mut row[i * ow..(i + 1) * ow];
                        // Row in the unpadded image; wrapping_sub makes "above the image" huge.
                        let r = (i * s + m).wrapping_sub(p);
                        if r >= self.h {
                            out.fill(E::zero());
                            continue;
                        }
                        let src = &plane[r * self.w..(r + 1) * self.w];
                        out[..js.start].fill(E::zero());
                        out[js.end..].fill(E::zero());
                        if s == 1 {
                            // Stride 1: the window row is one contiguous run of the image row.
                            out[js.clone()].copy_from_slice(&src[js.start + n - p..js.end + n - p]);
                        } else {
                            for j in js.clone() {
                                out[j] = src[j * s + n - p];
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds `dcols` `(K, P)` back onto the image gradient `dx_b` `(C, H, W)`: the transpose of im2col.
    fn col2im<E: Real>(&self, dcols: &[E], dx_b: &mut [E]) {
        let (k, s, p, ow) = (self.k, self.s, self.p, self.ow);
        let positions = self.positions();
        for ci in 0..self.c {
            let plane = &mut dx_b[ci * self.h * self.w..(ci + 1) * self.h * self.w];
            for m in 0..k {
                for n in 0..k {
                    let row = &dcols[((ci * k + m) * k + n) * positions..][..positions];
                    let js = self.valid_columns(n);
                    for i in 0..self.oh {
                        let r = (i * s + m).wrapping_sub(p);
                        if r >= self.h {
                            continue;
                        }
                        let dst = &mut plane[r * self.w..(r + 1) * self.w];
                        let g = &row[i * ow..(i + 1) * ow];
                        if s == 1 {
                            let dst = &mut dst[js.start + n - p..js.end + n - p];
                            dst.iter_mut().zip(&g[js.clone()]).for_each(|(d, &v)| *d += v);
                        } else {
                            for j in js.clone() {
                                dst[j * s + n - p] += g[j];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `y = conv(x, W) + b` with its backward on the tape. `out` is the checked `(B, O, H', W')`.
pub(crate) fn conv2d<E: Real, D: Device<E>, T: Tape<E, D>>(
    weight: &Tensor<Dyn4, E, D>,
    bias: &Tensor<Dyn1, E, D>,
    x: Tensor<Dyn4, E, D, T>,
    (s, p): (usize, usize),
    out: [usize; 4],
) -> Tensor<Dyn4, E, D, T> {
    let (x, mut tape) = contiguous(x).split_tape();
    let (_, c, h, w) = *x.shape();
    let k = weight.shape().2;
    let [b, o, oh, ow] = out;
    let g = Geometry {
        c,
        h,
        w,
        k,
        s,
        p,
        oh,
        ow,
    };
    let xv = values(&x);
    let wv = values(weight); // (O, K) row-major
    let y: Tensor<Dyn4, E, D> = tensor(&x, forward(g, &xv, &wv, &values(bias)), (b, o, oh, ow));

    if T::OWNS_TAPE {
        let (x, weight, bias, y_id) = (x.clone(), weight.clone(), bias.clone(), y.clone());
        tape.add_backward_op(move |grads| {
            let grads = cpu_grads(grads);
            let dy = take_grad(grads, &y_id);
            let (dw, db) = backward(g, &xv, &wv, &dy, grad_mut(grads, &x));
            add_into(grad_mut(grads, &weight), &dw);
            add_into(grad_mut(grads, &bias), &db);
            put_grad(grads, &y_id, dy);
            Ok(())
        });
    }
    y.put_tape(tape)
}

/// `y_b = W · cols_b + b` for every image `b`, images in parallel: `(B, O, H', W')`.
fn forward<E: Real>(g: Geometry, xv: &[E], wv: &[E], bv: &[E]) -> Vec<E> {
    let (o, kk, pp, image) = (bv.len(), g.window(), g.positions(), g.c * g.h * g.w);
    let w = Mat::new(wv, o, kk);
    // Start every output plane at its bias (one write, no zeroing first), then add W · cols.
    let mut y = Vec::with_capacity(xv.len() / image * o * pp);
    for _ in 0..xv.len() / image {
        for &bias_o in bv {
            y.extend(std::iter::repeat_n(bias_o, pp));
        }
    }
    y.par_chunks_mut(o * pp).zip(xv.par_chunks(image)).for_each_init(
        || vec![E::zero(); kk * pp],
        |cols, (y_b, x_b)| {
            g.im2col(x_b, cols);
            let cols = Mat::new(cols, kk, pp);
            matmul(MatMut::new(y_b, o, pp), Write::Add, w, cols, Threads::Caller);
            // y_b += W · cols
        },
    );
    y
}

/// Images per block of the backward: each block sums its own `dW` and `db`.
const BACKWARD_BLOCK: usize = 8;

/// The backward of [`forward`]: `dx += col2im(Wᵀ · dy_b)` per image into `dx`; returns
/// `dW = Σ_b dy_b · cols_bᵀ` and `db = Σ_b Σ_P dy_b`.
///
/// Blocks of [`BACKWARD_BLOCK`] images run in parallel and their sums are added in block
/// order, so `dW` is the same on any number of threads and in every run. (A rayon `fold`
/// groups images by work stealing, which changed `dW`'s rounding from run to run.)
fn backward<E: Real>(g: Geometry, xv: &[E], wv: &[E], dy: &[E], dx: &mut [E]) -> (Vec<E>, Vec<E>) {
    let (kk, pp, image) = (g.window(), g.positions(), g.c * g.h * g.w);
    let o = wv.len() / kk;
    let w_t = Mat::new(wv, o, kk).t();
    let blocks: Vec<(Vec<E>, Vec<E>)> = dx
        .par_chunks_mut(BACKWARD_BLOCK * image)
        .zip(dy.par_chunks(BACKWARD_BLOCK * o * pp))
        .zip(xv.par_chunks(BACKWARD_BLOCK * image))
        .map(|((dx, dy), xv)| backward_block(g, w_t, xv, dy, dx))
        .collect();
    let (mut dw, mut db) = (vec![E::zero(); o * kk], vec![E::zero(); o]);
    for (dw_blk, db_blk) in &blocks {
        add_into(&mut dw, dw_blk);
        add_into(&mut db, db_blk);
    }
    (dw, db)
}

/// [`backward`] for one block of images, one after the other: its `dW` and `db`.
fn backward_block<E: Real>(g: Geometry, w_t: Mat<E>, xv: &[E], dy: &[E], dx: &mut [E]) -> (Vec<E>, Vec<E>) {
    let (kk, pp, image) = (g.window(), g.positions(), g.c * g.h * g.w);
    let o = w_t.cols();
    let (mut dw, mut db, mut cols) = (
        vec![E::zero(); o * kk],
        vec![E::zero(); o],
        vec![E::zero(); kk * pp],
    );
    for ((dx_b, dy_b), x_b) in dx.chunks_mut(image).zip(dy.chunks(o * pp)).zip(xv.chunks(image)) {
        for (d, row) in db.iter_mut().zip(dy_b.chunks(pp)) {
            *d += reduce::sum(row); // db += Σ_P dy_b
        }
        g.im2col(x_b, &mut cols);
        let (dy_b, cols_t) = (Mat::new(dy_b, o, pp), Mat::new(&cols, kk, pp).t());
        // dW += dy_b · colsᵀ
        matmul(
            MatMut::new(&mut dw, o, kk),
            Write::Add,
            dy_b,
            cols_t,
            Threads::Caller,
        );
        // cols is free again: reuse it for dcols = Wᵀ · dy_b, then dx_b += col2im(dcols).
        matmul(
            MatMut::new(&mut cols, kk, pp),
            Write::Set,
            w_t,
            dy_b,
            Threads::Caller,
        );
        g.col2im(&cols, dx_b);
    }
    (dw, db)
}

/// Inference through one conv block, `maxpool₂ₓ₂(relu(conv(x) + b))`, with no tape:
/// `(B, C, H, W)` → `(B, O, H'/2, W'/2)` (the pool drops an odd last row and column, as
/// Keras's `MaxPooling2D(2)` does).
///
/// Image by image, the conv output is pooled while it is still in cache, so the full-size
/// activations are never written out and no argmax is kept. ReLU comes after the pool:
/// `max` and ReLU commute, and the pool leaves a quarter of the values to clamp.
pub(crate) fn relu_pool_inference<E: Real>(
    x: &[E],
    (c, h, w): (usize, usize, usize),
    weight: &[E],
    bias: &[E],
    (k, s, p): (usize, usize, usize),
) -> (Vec<E>, [usize; 3]) {
    let (oh, ow) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
    let g = Geometry {
        c,
        h,
        w,
        k,
        s,
        p,
        oh,
        ow,
    };
    let (o, kk, pp, image) = (bias.len(), g.window(), g.positions(), c * h * w);
    let (ph, pw) = (oh / 2, ow / 2);
    let pooled_image = o * ph * pw;
    let wm = Mat::new(weight, o, kk);
    let scratch = || (vec![E::zero(); kk * pp], vec![E::zero(); o * pp]);
    let one_image = |(cols, y): &mut (Vec<E>, Vec<E>), (out_b, x_b): (&mut [E], &[E])| {
        g.im2col(x_b, cols);
        // y = W · cols + b, each output plane started at its bias.
        for (plane, &b_o) in y.chunks_mut(pp).zip(bias) {
            plane.fill(b_o);
        }
        let cols = Mat::new(cols, kk, pp);
        matmul(MatMut::new(y, o, pp), Write::Add, wm, cols, Threads::Caller);
        for (plane, pooled) in y.chunks(pp).zip(out_b.chunks_mut(ph * pw)) {
            simd(
                #[inline(always)]
                || max_pool_2x2_relu(plane, ow, pooled, pw),
            );
        }
    };
    let mut out = vec![E::zero(); x.len() / image * pooled_image];
    if rayon::current_num_threads() > 1 {
        let images = out.par_chunks_mut(pooled_image).zip(x.par_chunks(image));
        images.for_each_init(scratch, |s, pair| one_image(s, pair));
    } else {
        // One worker: run here rather than hand each call to it and wait (a server's
        // model thread pinned to one core spent ≈8 % in those hand-offs).
        let mut s = scratch();
        let images = out.chunks_mut(pooled_image).zip(x.chunks(image));
        images.for_each(|pair| one_image(&mut s, pair));
    }
    (out, [o, ph, pw])
}

/// `y[i, j] = max(0, max of x's 2×2 window at (2i, 2j))` for one plane `x` of width `w`.
#[inline(always)]
fn max_pool_2x2_relu<E: Real>(x: &[E], w: usize, y: &mut [E], pw: usize) {
    for (i, y_row) in y.chunks_exact_mut(pw).enumerate() {
        let (r0, r1) = (&x[2 * i * w..][..2 * pw], &x[(2 * i + 1) * w..][..2 * pw]);
        let windows = r0.chunks_exact(2).zip(r1.chunks_exact(2));
        for (v, (a, b)) in y_row.iter_mut().zip(windows) {
            let top = if a[1] > a[0] { a[1] } else { a[0] };
            let bottom = if b[1] > b[0] { b[1] } else { b[0] };
            let m = if bottom > top { bottom } else { top };
            *v = if m > E::zero() { m } else { E::zero() };
        }
    }
}
