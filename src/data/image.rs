//! Bilinear resampling of single images, so 8×8 digits can feed a network built for 28×28.
//!
//! Pixel centres sit at half-integer positions (as in PIL and PyTorch with
//! `align_corners = false`) and edges are clamped. No antialiasing: shrinking by a large
//! factor skips pixels; this is meant for enlarging.

use super::error::{DataError, DataResult};

/// Resizes each channel of a `[channels, height, width]` image to `new_h × new_w`.
///
/// An image whose length is not `channels * height * width`, or a size of 0, is an error.
pub fn resize_bilinear(
    image: &[f32],
    channels: usize,
    (height, width): (usize, usize),
    (new_h, new_w): (usize, usize),
) -> DataResult<Vec<f32>> {
    if image.len() != channels * height * width {
        let why = format!(
            "{} values are not {channels} channels of {height}×{width}",
            image.len()
        );
        return Err(DataError::mismatch("resize_bilinear", why));
    }
    if height * width * new_h * new_w == 0 {
        let why = format!("sizes must be at least 1×1, got {height}×{width} to {new_h}×{new_w}");
        return Err(DataError::Config {
            what: "resize_bilinear".into(),
            why,
        });
    }
    // For each output row (column): the two source rows (columns) and the weight of the second.
    let taps = |n_in: usize, n_out: usize| -> Vec<(usize, usize, f32)> {
        let scale = n_in as f32 / n_out as f32;
        (0..n_out)
            .map(|o| {
                let x = ((o as f32 + 0.5) * scale - 0.5).clamp(0.0, (n_in - 1) as f32);
                let lo = x.floor() as usize;
                let hi = (lo + 1).min(n_in - 1);
                (lo, hi, x - lo as f32)
            })
            .collect()
    };
    let (rows, cols) = (taps(height, new_h), taps(width, new_w));
    let mut out = Vec::with_capacity(channels * new_h * new_w);
    for plane in image.chunks_exact(height * width) {
        let at = |y: usize, x: usize| plane[y * width + x];
        for &(y0, y1, ty) in &rows {
            for &(x0, x1, tx) in &cols {
                // a + (b - a) * t is exact when a == b, so flat regions stay exactly flat.
                let top = at(y0, x0) + (at(y0, x1) - at(y0, x0)) * tx;
                let bottom = at(y1, x0) + (at(y1, x1) - at(y1, x0)) * tx;
                out.push(top + (bottom - top) * ty);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_image_stays_constant() {
        let img = vec![0.3125; 2 * 8 * 8];
        let out = resize_bilinear(&img, 2, (8, 8), (28, 28)).unwrap();
        assert_eq!(out.len(), 2 * 28 * 28);
        assert!(out.iter().all(|&v| v == 0.3125));
    }

    #[test]
    fn doubling_interpolates_between_neighbours() {
        // 1×2 image [0, 1] to 1×4: centres at -0.25, 0.25, 0.75, 1.25 -> clamp, lerp.
        let out = resize_bilinear(&[0.0, 1.0], 1, (1, 2), (1, 4)).unwrap();
        assert_eq!(out, vec![0.0, 0.25, 0.75, 1.0]);
    }

    #[test]
    fn same_size_is_identity() {
        let img: Vec<f32> = (0..12).map(|x| x as f32).collect();
        assert_eq!(resize_bilinear(&img, 1, (3, 4), (3, 4)).unwrap(), img);
        assert!(resize_bilinear(&img, 1, (3, 3), (3, 4)).is_err());
    }

    #[test]
    fn values_stay_within_the_input_range() {
        let img: Vec<f32> = (0..64).map(|x| ((x * 37) % 17) as f32 / 16.0).collect();
        let out = resize_bilinear(&img, 1, (8, 8), (28, 28)).unwrap();
        assert!(out.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }
}
