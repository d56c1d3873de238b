//! Two interleaving half circles ("two moons"), the classic 2-D task that no straight line
//! separates: small enough to draw, so a model's decision boundary can be looked at.
//!
//! Class 0 is the upper arc `(cos t, sin t)`, class 1 the lower arc
//! `(1 − cos t, 0.5 − sin t)`, with `t` uniform in `0..π` and Gaussian noise of standard
//! deviation `noise` added to both coordinates. Teaching data, not a benchmark.

use std::f32::consts::PI;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::dataset::FeatureSet;

/// `n` points, items `[2]` (x, y), labels alternating 0, 1, 0, …; the same seed, the same points.
///
/// Panics when `noise` is negative or not finite.
pub fn two_moons(n: usize, noise: f32, seed: u64) -> FeatureSet {
    let mut rng = StdRng::seed_from_u64(seed);
    let jitter = Normal::new(0.0f32, noise).expect("two_moons: noise must be a finite number ≥ 0");
    let mut features = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % 2;
        let t = rng.gen_range(0.0..PI);
        let (x, y) = if class == 0 {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        features.push(x + jitter.sample(&mut rng));
        features.push(y + jitter.sample(&mut rng));
        labels.push(class);
    }
    FeatureSet {
        features,
        item_shape: vec![2],
        labels,
        classes: vec!["upper".into(), "lower".into()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moons_lie_on_their_arcs_without_noise() {
        let set = two_moons(40, 0.0, 1);
        assert_eq!((set.features.len(), set.item_shape.clone()), (80, vec![2]));
        assert_eq!(set.class_counts(), vec![20, 20]);
        for (p, &label) in set.features.chunks(2).zip(&set.labels) {
            let (cx, cy) = if label == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
            let r = ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt();
            assert!((r - 1.0).abs() < 1e-5, "label {label} at {p:?}");
            // Upper arc above its centre, lower arc below its own.
            assert!(if label == 0 {
                p[1] >= -1e-6
            } else {
                p[1] <= 0.5 + 1e-6
            });
        }
    }

    #[test]
    fn moons_repeat_by_seed_and_take_noise() {
        assert_eq!(two_moons(10, 0.1, 7), two_moons(10, 0.1, 7));
        assert_ne!(two_moons(10, 0.1, 7), two_moons(10, 0.1, 8));
        assert_ne!(two_moons(10, 0.1, 7).features, two_moons(10, 0.0, 7).features);
    }
}
