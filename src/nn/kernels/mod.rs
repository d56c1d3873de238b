//! Hand-written CPU kernels that replace a layer's generic forward and backward on dfdx's `Cpu`.
//!
//! The layers in `nn/` are written once with dfdx's generic ops, so they run on every dfdx
//! device and read like the book's formulas. Some of those compositions are slow on the CPU
//! (im2col through `gather`, one small matmul per gate per step, softmax and bias broadcasts
//! as chains of full-size tensors), so a layer asks
//! [`cpu_path`] at the top of its `forward`: when the device *is* `Cpu` and the fast path is
//! on, the layer calls a kernel from this module instead; on any other device (Cuda) it runs
//! the generic code unchanged.
//!
//! **Why `TypeId` and not a device trait.** The layers' public bounds stay `D: Device<E>`, so no
//! model or user code has to name a new trait, and Cuda needs no stub impl. dfdx's `Storage`
//! and `Unit` are `'static`, so a bare tensor or a `Gradients` of a generic device can be
//! downcast to their `Cpu` form with `Any` — safe code, no transmute; the downcast cannot fail
//! once [`cpu_path`] said yes.
//!
//! Every kernel follows the same shape, micrograd-style: compute the output into a fresh
//! buffer, register its backward right beside it with `tape.add_backward_op`, return the
//! output with the tape on. The backward *accumulates* (`+=`) into the gradients of its
//! inputs, as dfdx's own ops do. Kernels are generic over `f32`/`f64`, so the f64
//! finite-difference tests run the very same code, except for the matrix products: `f32` on an
//! AVX-512 CPU takes the hand-written `gemm512`, which its own tests compare with a naive loop.
//!
//! Limits: reading a dfdx tensor's buffer is crate-private in dfdx 0.13, so each kernel copies
//! its inputs once (a memcpy; tensors are first made contiguous). [`set_fast_kernels`] turns
//! the fast path off for the current thread, which the tests use to compare both paths.

pub(crate) mod attention;
pub(crate) mod conv;
pub(crate) mod feed_forward;
#[cfg(target_arch = "x86_64")]
mod gemm512;
pub mod math;
mod matmul;
pub(crate) mod pool;
pub(crate) mod recurrent;
pub(crate) mod reduce;
pub(crate) mod rows;
#[cfg(target_arch = "x86_64")]
pub(crate) mod vec512;

use crate::nn::{Dyn1, Dyn2, Dyn4};
use dfdx::prelude::*;
use std::any::{Any, TypeId};
use std::cell::Cell;

pub(crate) use matmul::{linear, matmul, Mat, MatMut, Threads, Weights, Write};

thread_local! {
    static FAST: Cell<bool> = const { Cell::new(true) };
}

/// Uses (`true`, the default) or bypasses the CPU kernels for layers run on this thread.
///
/// Thread-local so that tests running in parallel can compare both paths without racing.
pub fn set_fast_kernels(on: bool) {
    FAST.with(|f| f.set(on));
}

/// Whether layers on this thread use the CPU kernels.
pub fn fast_kernels() -> bool {
    FAST.with(|f| f.get())
}

/// True when `D` is dfdx's `Cpu` and the fast path is on.
pub(crate) fn cpu_path<E: Dtype, D: Storage<E>>() -> bool {
    TypeId::of::<D>() == TypeId::of::<Cpu>() && fast_kernels()
}

/// `t` as a `Cpu` tensor; panics if `D` is not `Cpu` (callers check [`cpu_path`] first).
pub(crate) fn on_cpu<S: Shape, E: Dtype, D: Storage<E>>(t: &Tensor<S, E, D>) -> &Tensor<S, E, Cpu> {
    (t as &dyn Any).downcast_ref().expect("a Cpu tensor")
}

/// A `Cpu` tensor back in the layer's device type `D` (which is `Cpu`).
pub(crate) fn from_cpu<S: Shape, E: Dtype, D: Storage<E>>(t: Tensor<S, E, Cpu>) -> Tensor<S, E, D> {
    *(Box::new(t) as Box<dyn Any>).downcast().expect("D is Cpu")
}

/// The gradients of a `Cpu` run, seen as `Gradients<E, Cpu>`.
pub(crate) fn cpu_grads<E: Dtype, D: Storage<E>>(g: &mut Gradients<E, D>) -> &mut Gradients<E, Cpu> {
    (g as &mut dyn Any).downcast_mut().expect("Cpu gradients")
}

/// `t` with row-major strides, keeping its tape.
///
/// A gradient buffer is laid out like its tensor's data, so a kernel that writes `dx` in
/// row-major order needs a row-major `x`. dfdx's reshape to the same shape is free (same
/// tensor id) when `t` already is, and otherwise records a copy with its own backward.
pub(crate) fn contiguous<S: Shape, E: Dtype, D: Device<E>, T: Tape<E, D>>(
    t: Tensor<S, E, D, T>,
) -> Tensor<S, E, D, T> {
    let shape = *t.shape();
    t.reshape_like(&shape)
}

/// The gradient buffer of `t` in `grads`, allocated (zeros) if it is not there yet.
///
/// The only failure is the Cpu running out of memory while allocating it, which dfdx's own
/// ops cannot recover from either, so it panics rather than converting `CpuError` into the
/// generic device's error type.
pub(crate) fn grad_mut<'a, S: Shape, E: Dtype, D: Storage<E>>(
    grads: &'a mut Gradients<E, Cpu>,
    t: &Tensor<S, E, D>,
) -> &'a mut [E] {
    grads
        .get_or_alloc_mut(on_cpu(t))
        .expect("out of memory allocating a gradient")
}

/// Moves the gradient of a kernel's output out of `grads` without copying it.
///
/// A kernel's backward runs after every consumer of its output has added to that gradient,
/// so it can borrow the buffer; [`put_grad`] returns it afterwards, so `grads` looks
/// untouched (tests that inspect intermediate gradients still see it).
pub(crate) fn take_grad<S: Shape, E: Dtype, D: Storage<E>>(
    grads: &mut Gradients<E, Cpu>,
    out: &Tensor<S, E, D>,
) -> Vec<E> {
    let buffer = grads
        .get_or_alloc_mut(on_cpu(out))
        .expect("out of memory allocating a gradient");
    std::mem::take(&mut **buffer)
}

/// Puts back what [`take_grad`] took.
pub(crate) fn put_grad<S: Shape, E: Dtype, D: Storage<E>>(
    grads: &mut Gradients<E, Cpu>,
    out: &Tensor<S, E, D>,
    grad: Vec<E>,
) {
    **grads
        .get_or_alloc_mut(on_cpu(out))
        .expect("the gradient taken before") = grad;
}

/// A contiguous copy of a tensor's values (row-major, whatever its strides were).
pub(crate) fn values<S: Shape, E: Dtype, D: Storage<E>>(t: &Tensor<S, E, D>) -> Vec<E> {
    let t = on_cpu(t);
    // dfdx's reshape to the same shape is free on a contiguous tensor and copies otherwise,
    // so `copy_into` (a raw memcpy of the buffer) then sees row-major data.
    let t = t.clone().reshape_like(t.shape());
    let mut out = vec![E::default(); t.shape().num_elements()];
    t.copy_into(&mut out);
    out
}

/// The values of a row-major `Cpu` matrix, borrowed in place (no copy), or `None` when its
/// strides are not row-major. dfdx 0.13 offers no slice of a tensor, but its `Index` hands out
/// references into the buffer: the first, second and last elements' addresses show whether
/// the strides are row-major, and the range between the first and the last element lies
/// inside the buffer. Inference paths read weights this way; training copies ([`values`]).
pub(crate) fn matrix_in_place<E: Dtype>(t: &Tensor<Dyn2, E, Cpu>) -> Option<&[E]> {
    let (r, c) = *t.shape();
    if r == 0 || c == 0 {
        return None;
    }
    let first: *const E = &t[[0, 0]];
    let row_major = (c == 1 || std::ptr::eq(&t[[0, 1]], first.wrapping_add(1)))
        && (r == 1 || std::ptr::eq(&t[[1, 0]], first.wrapping_add(c)))
        && std::ptr::eq(&t[[r - 1, c - 1]], first.wrapping_add(r * c - 1));
    // SAFETY: `first` and the last element both point into the tensor's buffer, `r·c − 1`
    // elements apart, so the `r·c` elements from `first` are inside it; the borrow of `t`
    // keeps the buffer alive and unchanged (dfdx copies a shared buffer before writing).
    row_major.then(|| unsafe { std::slice::from_raw_parts(first, r * c) })
}

/// As [`matrix_in_place`], for a vector.
pub(crate) fn vector_in_place<E: Dtype>(t: &Tensor<Dyn1, E, Cpu>) -> Option<&[E]> {
    let n = t.shape().0;
    if n == 0 {
        return None;
    }
    let first: *const E = &t[[0]];
    let dense = std::ptr::eq(&t[[n - 1]], first.wrapping_add(n - 1));
    // SAFETY: as in `matrix_in_place`: both ends are elements of the buffer, `n − 1` apart.
    dense.then(|| unsafe { std::slice::from_raw_parts(first, n) })
}

/// As [`matrix_in_place`], for a 4-D tensor (a conv layer's kernels `(O, C, k, k)`): each
/// axis's next element must be one row-major step away.
pub(crate) fn array4_in_place<E: Dtype>(t: &Tensor<Dyn4, E, Cpu>) -> Option<&[E]> {
    let (a, b, c, d) = *t.shape();
    let n = a * b * c * d;
    if n == 0 {
        return None;
    }
    let first: *const E = &t[[0, 0, 0, 0]];
    let step = |at: [usize; 4], offset: usize| std::ptr::eq(&t[at], first.wrapping_add(offset));
    let row_major = (d == 1 || step([0, 0, 0, 1], 1))
        && (c == 1 || step([0, 0, 1, 0], d))
        && (b == 1 || step([0, 1, 0, 0], c * d))
        && (a == 1 || step([1, 0, 0, 0], b * c * d))
        && step([a - 1, b - 1, c - 1, d - 1], n - 1);
    // SAFETY: as in `matrix_in_place`: both ends are elements of the buffer, `n − 1` apart.
    row_major.then(|| unsafe { std::slice::from_raw_parts(first, n) })
}

/// `borrowed` (a tensor's values read in place), or a copy of `t`'s values where they could
/// not be borrowed: `or_copy(matrix_in_place(&w), &w)`.
pub(crate) fn or_copy<'a, S: Shape, E: Dtype>(
    borrowed: Option<&'a [E]>,
    t: &Tensor<S, E, Cpu>,
) -> std::borrow::Cow<'a, [E]> {
    borrowed.map_or_else(|| std::borrow::Cow::Owned(values(t)), std::borrow::Cow::Borrowed)
}

/// A new tensor holding `data`, on the same `Cpu` device as `like` (its allocation cache, if enabled).
pub(crate) fn tensor<S: Shape, S2: Shape, E: Dtype, D: Storage<E>>(
    like: &Tensor<S2, E, D>,
    data: Vec<E>,
    shape: S,
) -> Tensor<S, E, D> {
    from_cpu(on_cpu(like).device().tensor_from_vec(data, shape))
}

/// `n` zeros, written by all of rayon's workers: a kernel's megabyte scratch buffers (attention
/// weights, the feed-forward hidden layer's gradient) would otherwise be one thread's memset
/// while the others wait (≈8 % of a 2-thread transformer step). On one worker, libc's memset
/// is faster than rayon's element-wise fill.
pub(crate) fn zeros<E: Dtype>(n: usize) -> Vec<E> {
    use rayon::prelude::*;
    if rayon::current_num_threads() == 1 {
        return vec![E::default(); n];
    }
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(E::default(), n));
    v
}

/// `acc += v`, element by element: how a backward adds its share to a gradient.
pub(crate) fn add_into<E: Dtype>(acc: &mut [E], v: &[E]) {
    acc.iter_mut().zip(v).for_each(|(a, &b)| *a += b);
}

/// Runs `f` compiled for AVX2 and FMA when this CPU has them, else as it is.
///
/// The crate is built for the baseline x86-64 (SSE2, 4 f32 lanes) so that its binaries run
/// anywhere; the kernels' element-wise loops (gates, softmax, pooling) then use only half of
/// an AVX2 register. `f` is inlined into a function compiled with those features, so the
/// loops written inside it vectorise 8 lanes wide; the `gemm` crate already dispatches at
/// run time the same way. Results are the same either way (Rust never fuses `a·b + c` on its
/// own). Call it inside rayon's closures: a closure that runs on another thread is compiled
/// on its own and does not inherit the features.
#[inline(always)]
pub(crate) fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the features `avx2_fma` is compiled for were just detected on this CPU.
        return unsafe { avx2_fma(f) };
    }
    f()
}

/// As [`simd`], with AVX-512 (16 f32 lanes) when this CPU has it: for element-wise passes
/// over large buffers, where the wider registers halve the instructions.
#[inline(always)]
pub(crate) fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the features `avx512` is compiled for were just detected on this CPU.
        return unsafe { avx512(f) };
    }
    simd(f)
}

/// `f()`, with AVX-512 (and AVX2, FMA) enabled for whatever is inlined into it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `f()`, with AVX2 and FMA enabled for whatever is inlined into it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn avx2_fma<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_read_in_place_only_when_row_major() {
        let dev = Cpu::default();
        let kernels = dev.tensor_from_vec((0..24).map(|v| v as f32).collect(), (2, 3, 2, 2));
        let borrowed = array4_in_place(&kernels).expect("a fresh tensor is row-major");
        assert_eq!(borrowed, kernels.as_vec());
        // Same buffer, other strides: not borrowed, and or_copy gives the row-major values.
        let swapped = kernels.clone().permute::<Dyn4, Axes4<0, 1, 3, 2>>();
        assert!(array4_in_place(&swapped).is_none());
        assert_eq!(
            *or_copy(array4_in_place(&swapped), &swapped),
            swapped.as_vec()[..]
        );
        let matrix = dev.tensor_from_vec((0..6).map(|v| v as f32).collect(), (2, 3));
        assert_eq!(matrix_in_place(&matrix).unwrap(), matrix.as_vec());
        let transposed = matrix.clone().permute::<Dyn2, Axes2<1, 0>>();
        assert!(matrix_in_place(&transposed).is_none());
        let bias = dev.tensor_from_vec(vec![1.0f32, 2.0], (2,));
        assert_eq!(vector_in_place(&bias).unwrap(), [1.0, 2.0]);
    }
}
