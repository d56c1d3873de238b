//! Checks for the exercises of chapter 03_1 (tutorials/ch03-1.md): the output size of a
//! convolution, and 2×2 max pooling written as a loop.
//!
//! Expected values come from the library's layers: [`Conv2D`]'s shape rule and
//! [`MaxPool2D`]'s forward pass.

use dfdx::prelude::*;

use super::{check, expect_close, expect_eq, Check};
use crate::nn::{Conv2D, Conv2DConfig, MaxPool2D, OutputShape};

/// `(n, k, stride, padding)`: the book's first layer first, then cases that separate the
/// usual slips (padding counted once or not at all, stride ignored, sizes that do not divide).
const CONV_CASES: [(usize, usize, usize, usize); 10] = [
    (28, 3, 1, 0),
    (5, 3, 1, 0),
    (5, 3, 1, 1),
    (28, 5, 1, 2),
    (7, 3, 2, 0),
    (8, 3, 2, 1),
    (10, 3, 2, 0),
    (10, 4, 3, 0),
    (3, 3, 1, 0),
    (1, 3, 1, 1),
];

/// Exercise `conv-output-size`: `f(n, k, stride, padding)` must give the height (= width) of
/// a `Conv2D`'s output on an `n×n` input, as the layer's own shape rule computes it.
pub fn conv_output_size(f: fn(usize, usize, usize, usize) -> usize) -> Check {
    check("conv-output-size", || {
        let dev = Cpu::default();
        for (n, k, stride, padding) in CONV_CASES {
            let cfg = Conv2DConfig::new(1, 1, k).stride(stride).padding(padding);
            let conv = Conv2D::<f32, Cpu>::new(&dev, cfg).map_err(|e| e.to_string())?;
            let want = conv
                .output_shape(&[1, 1, n, n])
                .map_err(|e| format!("the check's own layer failed: {e:?}"))?[2];
            let input = format!("n = {n}, k = {k}, stride = {stride}, padding = {padding}");
            expect_eq(input, f(n, k, stride, padding), want)?;
        }
        Ok(())
    })
}

/// Row-major test images for `max-pool-2x2`: a name, rows, cols and the values.
fn pooling_images() -> Vec<(&'static str, usize, usize, Vec<f32>)> {
    // Deterministic values in -2.75..2.75 with no pattern a loop could lean on.
    let mixed = |len: usize, seed: usize| -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 37 + seed * 11) % 23) as f32 / 4.0 - 2.75)
            .collect()
    };
    let counting: Vec<f32> = (0..16).map(|i| i as f32).collect();
    let negative: Vec<f32> = mixed(16, 3).iter().map(|v| -v.abs() - 0.5).collect();
    vec![
        ("the 4×4 image 0, 1, …, 15", 4, 4, counting),
        ("a 6×6 image of mixed signs", 6, 6, mixed(36, 1)),
        ("a 4×4 image of negative numbers only", 4, 4, negative),
        (
            "a 5×7 image (odd sizes: the last row and column fill no window)",
            5,
            7,
            mixed(35, 2),
        ),
        ("a 2×8 image", 2, 8, mixed(16, 5)),
    ]
}

/// Exercise `max-pool-2x2`: `f(image, rows, cols)` must return the 2×2, stride-2 max pooling
/// of a row-major `rows×cols` image, `(rows / 2) × (cols / 2)` values, as [`MaxPool2D`] does.
pub fn max_pool_2x2(f: fn(&[f32], usize, usize) -> Vec<f32>) -> Check {
    check("max-pool-2x2", || {
        let dev = Cpu::default();
        for (name, rows, cols, image) in pooling_images() {
            let x = dev.tensor_from_vec(image.clone(), (1, 1, rows, cols));
            let want: Vec<f64> = MaxPool2D::<2>
                .try_forward(x)
                .map_err(|e| format!("the check's own layer failed: {e:?}"))?
                .as_vec()
                .into_iter()
                .map(f64::from)
                .collect();
            let got: Vec<f64> = f(&image, rows, cols).into_iter().map(f64::from).collect();
            let input = format!("{name}, {rows} rows × {cols} cols");
            expect_close(input, &got, &want, 0.0)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::Verdict;

    fn size_solution(n: usize, k: usize, stride: usize, padding: usize) -> usize {
        (n + 2 * padding - k) / stride + 1
    }

    fn pool_solution(image: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for i in 0..rows / 2 {
            for j in 0..cols / 2 {
                let mut best = f32::NEG_INFINITY;
                for m in 0..2 {
                    for n in 0..2 {
                        best = best.max(image[(2 * i + m) * cols + 2 * j + n]);
                    }
                }
                out.push(best);
            }
        }
        out
    }

    /// The mistake the chapter shows: the maximum starts at 0 instead of -∞.
    fn pool_from_zero(image: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for i in 0..rows / 2 {
            for j in 0..cols / 2 {
                let mut best = 0.0f32;
                for m in 0..2 {
                    for n in 0..2 {
                        best = best.max(image[(2 * i + m) * cols + 2 * j + n]);
                    }
                }
                out.push(best);
            }
        }
        out
    }

    #[test]
    fn conv_output_size_judges_the_formula() {
        assert!(conv_output_size(size_solution).is_correct());
        // The chapter's mistake: stride and padding ignored.
        let wrong = conv_output_size(|n, k, _, _| n - k + 1).verdict;
        assert_eq!(
            wrong,
            Verdict::Incorrect("for n = 5, k = 3, stride = 1, padding = 1: expected 5, got 3".into())
        );
        // Padding on one side only is caught too.
        assert!(!conv_output_size(|n, k, s, p| (n + p - k) / s + 1).is_correct());
        assert_eq!(
            conv_output_size(|_, _, _, _| todo!()).verdict,
            Verdict::NotAttempted
        );
    }

    #[test]
    fn max_pool_judges_the_loop() {
        assert!(max_pool_2x2(pool_solution).is_correct());
        let Verdict::Incorrect(reason) = max_pool_2x2(pool_from_zero).verdict else {
            panic!("starting from 0 is wrong for negative windows")
        };
        assert!(reason.contains("negative numbers only"), "{reason}");
        assert!(reason.contains("got 0.000000"), "{reason}");
        // Rounding the output size up reads past the image: a panic, reported as incorrect.
        assert!(!max_pool_2x2(|img, r, c| pool_solution(img, r + 1, c + 1)).is_correct());
        assert_eq!(max_pool_2x2(|_, _, _| todo!()).verdict, Verdict::NotAttempted);
    }
}
