//! Generated sequence classification with the book's LSTM shapes: 100 steps × 10 features, 10 classes.
//!
//! Channels 0 and 1 carry a point turning on a circle, `(r cos θ_t, r sin θ_t)`; the class
//! sets the turning speed (2, 4, 6, 8 or 10 turns per sequence) and direction
//! (classes 0..4 anticlockwise, 5..9 clockwise). Radius, starting angle and speed jitter
//! are random per sample, channels 2..9 hold distractor waves of random frequency, and all
//! channels get Gaussian noise. One time step alone is a point on a circle of random
//! radius, the same for every class, so a per-step model sits at chance; comparing steps
//! (as an RNN does) reveals the class. Not a model of any real signal.

use std::f32::consts::PI;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::dataset::FeatureSet;

pub const SEQ_STEPS: usize = 100;
pub const SEQ_FEATURES: usize = 10;
pub const SEQ_CLASSES: usize = 10;

/// Turns per sequence (signed: negative is clockwise) for class `c`.
fn turns(class: usize) -> f32 {
    let speed = 2.0 * (class % 5 + 1) as f32;
    if class < 5 {
        speed
    } else {
        -speed
    }
}

/// `per_class` samples of every class, items `[100, 10]`, labels cycling 0,1,..,9,0,..
pub fn sequence_classes(per_class: usize, seed: u64) -> FeatureSet {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, 0.3).expect("valid normal");
    let n = per_class * SEQ_CLASSES;
    let mut features = Vec::with_capacity(n * SEQ_STEPS * SEQ_FEATURES);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % SEQ_CLASSES;
        let radius = rng.gen_range(0.5f32..1.5);
        let start = rng.gen_range(0.0..2.0 * PI);
        // ±5 % speed jitter keeps classes apart (neighbours differ by 2 turns in 2..10).
        let step = 2.0 * PI * turns(class) * rng.gen_range(0.95f32..1.05) / SEQ_STEPS as f32;
        let distractors: Vec<(f32, f32, f32)> = (2..SEQ_FEATURES)
            .map(|_| {
                (
                    rng.gen_range(0.2f32..1.0),                                // amplitude
                    2.0 * PI * rng.gen_range(1.0f32..12.0) / SEQ_STEPS as f32, // rad per step
                    rng.gen_range(0.0..2.0 * PI),                              // phase
                )
            })
            .collect();
        for t in 0..SEQ_STEPS {
            let angle = start + step * t as f32;
            features.push(radius * angle.cos() + noise.sample(&mut rng));
            features.push(radius * angle.sin() + noise.sample(&mut rng));
            for &(amp, w, phase) in &distractors {
                features.push(amp * (w * t as f32 + phase).sin() + noise.sample(&mut rng));
            }
        }
        labels.push(class);
    }
    let classes = (0..SEQ_CLASSES)
        .map(|c| {
            let dir = if c < 5 { "ccw" } else { "cw" };
            format!("{} turns {dir}", turns(c).abs())
        })
        .collect();
    FeatureSet {
        features,
        item_shape: vec![SEQ_STEPS, SEQ_FEATURES],
        labels,
        classes,
    }
}
