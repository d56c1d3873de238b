//! The kernels' one matrix product, `C (=|+=) A · B`, over strided views of flat buffers.
//!
//! A kernel's operands are blocks of larger buffers: a head's `(T, d)` slice of the stacked
//! Q, K and V rows, one step's rows of a `(batch, step, ·)` sequence, a matrix read transposed.
//! [`Mat`] names such a block (its size and row stride, `.t()` to read it transposed) and
//! [`MatMut`] the block written, so a call reads like the formula beside it:
//!
//! ```text
//! dW += Zᵀ · X     matmul(MatMut::new(&mut dw, gh, f), Write::Add, z.t(), x, Threads::Pool)
//! ```
//!
//! Bounds are checked here, once, so the kernels stay in safe code. `f32` on a CPU with
//! AVX-512 runs our own kernel (`gemm512`); everything else the `gemm` crate.
//! Limits: the written block has unit column stride (every kernel writes whole rows).

use dfdx::prelude::Dtype;
use std::any::TypeId;

#[cfg(target_arch = "x86_64")]
use super::gemm512::{self, Panels};

/// A `rows × cols` block of `data` read as `data[i·row_stride + j·col_stride]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mat<'a, E> {
    data: &'a [E],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a, E> Mat<'a, E> {
    /// The row-major `rows × cols` matrix at the start of `data`.
    pub(crate) fn new(data: &'a [E], rows: usize, cols: usize) -> Self {
        Mat {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The same matrix with rows `stride` elements apart: a block of a wider buffer.
    pub(crate) fn row_stride(self, stride: usize) -> Self {
        Mat {
            row_stride: stride,
            ..self
        }
    }

    /// The transpose, `cols × rows`, reading the same elements (nothing is copied).
    pub(crate) fn t(self) -> Self {
        Mat {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
            ..self
        }
    }

    pub(crate) fn cols(&self) -> usize {
        self.cols
    }

    /// Whether every element the view names lies inside `data`.
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || self.data.len() > (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
    }
}

/// A `rows × cols` block of `data` written as `data[i·row_stride + j]`.
#[derive(Debug)]
pub(crate) struct MatMut<'a, E> {
    data: &'a mut [E],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a, E> MatMut<'a, E> {
    /// The row-major `rows × cols` matrix at the start of `data`.
    pub(crate) fn new(data: &'a mut [E], rows: usize, cols: usize) -> Self {
        MatMut {
            data,
            rows,
            cols,
            row_stride: cols,
        }
    }

    /// The same matrix with rows `stride` elements apart: a block of a wider buffer.
    pub(crate) fn row_stride(self, stride: usize) -> Self {
        MatMut {
            row_stride: stride,
            ..self
        }
    }

    /// Whether every element the view names lies inside `data`, its rows not overlapping.
    fn fits(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.row_stride >= self.cols
                && self.data.len() >= (self.rows - 1) * self.row_stride + self.cols)
    }
}

/// Whether the product replaces the destination or is added to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Write {
    /// `C = A · B`
    Set,
    /// `C += A · B`, as a backward accumulates into gradients.
    Add,
}

/// Which threads compute one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Threads {
    /// The calling thread only: the product is one of many already running in parallel.
    Caller,
    /// All of rayon's workers.
    Pool,
}

/// `c = a · b` or `c += a · b` (see [`Write`]). Panics when the sizes disagree or a view
/// reaches past its buffer: a kernel's bug, never a user's input.
pub(crate) fn matmul<E: Dtype>(c: MatMut<E>, write: Write, a: Mat<E>, b: Mat<E>, threads: Threads) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(
        b.rows == k && c.rows == m && c.cols == n,
        "matmul: ({m}×{k}) · ({}×{n}) into ({}×{})",
        b.rows,
        c.rows,
        c.cols
    );
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.fits(), "matmul: destination too small");
    let accumulate = write == Write::Add;
    if k == 0 {
        if !accumulate {
            c.data
                .chunks_mut(c.row_stride)
                .take(m)
                .for_each(|r| r[..n].fill(E::default()));
        }
        return;
    }
    assert!(a.fits() && b.fits(), "matmul: an operand reaches past its buffer");
    let threaded = threads == Threads::Pool;
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<E>() == TypeId::of::<f32>() && gemm512::available() {
        // SAFETY: `E` is `f32` (same TypeId), so the slices can be read as `f32`; avx512f was
        // just detected, and the bounds `gemm_f32` relies on are checked above.
        unsafe {
            let cast = |s: &[E]| std::slice::from_raw_parts(s.as_ptr().cast::<f32>(), s.len());
            let dst = std::slice::from_raw_parts_mut(c.data.as_mut_ptr().cast::<f32>(), c.data.len());
            let (b, rs, cs) = (cast(b.data), b.row_stride, b.col_stride);
            let b = if cs == 1 {
                Panels::InPlace { b, rs }
            } else {
                Panels::Strided { b, rs, cs }
            };
            let a_strides = (a.row_stride, a.col_stride);
            gemm512::gemm_f32(
                (m, k, n),
                dst,
                c.row_stride,
                accumulate,
                cast(a.data),
                a_strides,
                b,
                None,
                threaded,
            );
        }
        return;
    }
    let parallelism = if threaded && rayon::current_num_threads() > 1 {
        ::gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        ::gemm::Parallelism::None
    };
    // SAFETY: every index gemm reads or writes is inside the slices (checked above), and
    // `c` does not alias `a` or `b` (it is borrowed mutably).
    unsafe {
        ::gemm::gemm(
            m,
            n,
            k,
            c.data.as_mut_ptr(),
            1,
            c.row_stride as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            E::ONE,
            E::ONE,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// A layer's weights `W` `(units, inputs)`, made ready once for many products `x Wᵀ + b`:
/// packed as the AVX-512 kernel reads `Wᵀ`, where it runs, so no product packs them again.
#[derive(Debug, Clone)]
pub(crate) struct Weights {
    /// Packed panels, or `W` itself where the kernel does not run.
    data: Vec<f32>,
    units: usize,
    inputs: usize,
    packed: bool,
}

impl Weights {
    /// Ready `W` `(units, inputs)`, row-major in `w`.
    pub(crate) fn new(w: &[f32], units: usize, inputs: usize) -> Self {
        assert_eq!(
            w.len(),
            units * inputs,
            "Weights: {units}×{inputs} from {} values",
            w.len()
        );
        #[cfg(target_arch = "x86_64")]
        if gemm512::available() {
            return Weights {
                data: gemm512::pack_weights(w, units, inputs),
                units,
                inputs,
                packed: true,
            };
        }
        Weights {
            data: w.to_vec(),
            units,
            inputs,
            packed: false,
        }
    }

    pub(crate) fn units(&self) -> usize {
        self.units
    }

    pub(crate) fn inputs(&self) -> usize {
        self.inputs
    }
}

/// `c = x Wᵀ + b` for a row-major `x` `(rows, inputs)`, `b` of `units` values.
pub(crate) fn linear(c: MatMut<f32>, x: Mat<f32>, w: &Weights, b: &[f32], threads: Threads) {
    let (m, n) = (x.rows, w.units);
    assert!(
        x.cols == w.inputs && c.rows == m && c.cols == n && b.len() == n,
        "linear: ({m}×{}) · ({}×{n})ᵀ + ({}) into ({}×{})",
        x.cols,
        w.units,
        b.len(),
        c.rows,
        c.cols
    );
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.fits(), "linear: destination too small");
    assert!(x.fits(), "linear: x reaches past its buffer");
    #[cfg(target_arch = "x86_64")]
    if w.packed && w.inputs > 0 {
        let a_strides = (x.row_stride, x.col_stride);
        // SAFETY: packed weights exist only where avx512f was detected; the packed panels hold
        // ⌈n/NR⌉·NR·inputs values (`pack_weights`), and the other bounds are checked above.
        unsafe {
            gemm512::gemm_f32(
                (m, w.inputs, n),
                c.data,
                c.row_stride,
                false,
                x.data,
                a_strides,
                Panels::Packed(&w.data),
                Some(b),
                threads == Threads::Pool,
            )
        };
        return;
    }
    let rs = c.row_stride;
    c.data
        .chunks_mut(rs)
        .take(m)
        .for_each(|row| row[..n].copy_from_slice(b));
    let wt = Mat::new(&w.data, w.units, w.inputs).t();
    matmul(
        MatMut::new(c.data, m, n).row_stride(rs),
        Write::Add,
        x,
        wt,
        threads,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(A · B)[i][j] = Σ_l A[i][l] B[l][j]`, written out.
    fn naive(a: &[[f64; 3]; 2], b: &[[f64; 2]; 3]) -> [[f64; 2]; 2] {
        let mut c = [[0.0; 2]; 2];
        for (i, row) in c.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (0..3).map(|l| a[i][l] * b[l][j]).sum();
            }
        }
        c
    }

    #[test]
    fn views_read_blocks_and_transposes() {
        let a = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let b = [[1.0, -1.0], [0.5, 2.0], [-3.0, 0.0]];
        let want = naive(&a, &b);
        // A as a block of a wider buffer (row stride 4), B stored transposed (2×3).
        let a_buf = [1.0, 2.0, 3.0, 9.0, 4.0, 5.0, 6.0, 9.0];
        let bt_buf = [1.0, 0.5, -3.0, -1.0, 2.0, 0.0];
        let mut c = [10.0, 20.0, 99.0, 30.0, 40.0];
        let (av, bv) = (Mat::new(&a_buf, 2, 3).row_stride(4), Mat::new(&bt_buf, 2, 3).t());
        matmul(
            MatMut::new(&mut c, 2, 2).row_stride(3),
            Write::Set,
            av,
            bv,
            Threads::Caller,
        );
        assert_eq!(c, [want[0][0], want[0][1], 99.0, want[1][0], want[1][1]]);
        matmul(
            MatMut::new(&mut c, 2, 2).row_stride(3),
            Write::Add,
            av,
            bv,
            Threads::Pool,
        );
        assert_eq!(
            c,
            [
                2.0 * want[0][0],
                2.0 * want[0][1],
                99.0,
                2.0 * want[1][0],
                2.0 * want[1][1]
            ]
        );
    }

    #[test]
    fn linear_adds_the_bias_to_the_product_with_the_transpose() {
        for (m, k, n) in [(1, 1, 1), (5, 17, 33), (130, 384, 100), (13, 400, 64)] {
            let values = |len: usize, seed: usize| -> Vec<f32> {
                (0..len)
                    .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.0 - 1.0)
                    .collect()
            };
            let (x, w, b) = (values(m * k, 1), values(n * k, 2), values(n, 3));
            // x Wᵀ + b, written out, into rows 3 wider than n (the padding stays untouched).
            let rs = n + 3;
            let mut want = vec![7.0f64; m * rs];
            for i in 0..m {
                for j in 0..n {
                    let dot: f64 = (0..k).map(|l| x[i * k + l] as f64 * w[j * k + l] as f64).sum();
                    want[i * rs + j] = dot + b[j] as f64;
                }
            }
            let packed = Weights::new(&w, n, k);
            let plain = Weights {
                data: w.clone(),
                units: n,
                inputs: k,
                packed: false,
            };
            for (weights, threads) in [
                (&packed, Threads::Caller),
                (&packed, Threads::Pool),
                (&plain, Threads::Pool),
            ] {
                let mut got = vec![7.0f32; m * rs];
                let c = MatMut::new(&mut got, m, n).row_stride(rs);
                linear(c, Mat::new(&x, m, k), weights, &b, threads);
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        (*g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                        "({m},{k},{n}) packed={} at {i}: {g} vs {w}",
                        weights.packed
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "matmul: (2×3) · (2×2)")]
    fn mismatched_sizes_panic() {
        let (a, b, mut c) = ([0.0f32; 6], [0.0f32; 4], [0.0f32; 4]);
        matmul(
            MatMut::new(&mut c, 2, 2),
            Write::Set,
            Mat::new(&a, 2, 3),
            Mat::new(&b, 2, 2),
            Threads::Caller,
        );
    }

    #[test]
    #[should_panic(expected = "matmul: destination too small")]
    fn a_destination_past_its_buffer_panics() {
        let (a, b, mut c) = ([0.0f32; 4], [0.0f32; 4], [0.0f32; 3]);
        matmul(
            MatMut::new(&mut c, 2, 2),
            Write::Set,
            Mat::new(&a, 2, 2),
            Mat::new(&b, 2, 2),
            Threads::Caller,
        );
    }

    #[test]
    #[should_panic(expected = "linear: destination too small")]
    fn overlapping_destination_rows_panic() {
        let (x, mut c) = ([0.0f32; 4], [0.0f32; 8]);
        let w = Weights::new(&[0.0; 4], 2, 2);
        // Rows one element apart would overlap: refused although the buffer is long enough.
        linear(
            MatMut::new(&mut c, 2, 2).row_stride(1),
            Mat::new(&x, 2, 2),
            &w,
            &[0.0; 2],
            Threads::Caller,
        );
    }
}
