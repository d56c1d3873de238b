//! The UCI handwritten digits (1,797 8×8 images, 10 classes), shipped inside the crate.
//!
//! The file is scikit-learn's `digits.csv.gz` (see `ATTRIBUTION.md` beside this file),
//! embedded with `include_bytes!` so it works offline. Pixels are scaled from 0..16 to
//! 0..1. The 28×28 variant is a plain bilinear enlargement of the whole 8×8 image: it
//! gives the book's MNIST CNN its input shape, not MNIST's look (no 20×20 box with margin).

use std::io::Read;
use std::sync::OnceLock;

use super::dataset::FeatureSet;
use super::image::resize_bilinear;

const DIGITS_GZ: &[u8] = include_bytes!("digits.csv.gz");

/// Samples per digit 0..9 in the shipped file.
pub const DIGITS_CLASS_COUNTS: [usize; 10] = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180];

/// Raw pixels (0..16) and labels, parsed once per process.
fn raw() -> &'static (Vec<u8>, Vec<usize>) {
    static RAW: OnceLock<(Vec<u8>, Vec<usize>)> = OnceLock::new();
    RAW.get_or_init(|| {
        // The file is part of the crate and checked by tests, so a failure is a build bug.
        let mut text = String::new();
        flate2::read::GzDecoder::new(DIGITS_GZ)
            .read_to_string(&mut text)
            .expect("embedded digits.csv.gz is valid gzip text");
        let mut pixels = Vec::with_capacity(1797 * 64);
        let mut labels = Vec::with_capacity(1797);
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
            let values: Vec<u8> = line
                .split(',')
                .map(|v| v.trim().parse().expect("embedded digits: integer field"))
                .collect();
            assert_eq!(values.len(), 65, "embedded digits line {}: 65 fields", n + 1);
            pixels.extend_from_slice(&values[..64]);
            labels.push(values[64] as usize);
        }
        (pixels, labels)
    })
}

fn class_names() -> Vec<String> {
    (0..10).map(|d| d.to_string()).collect()
}

/// All 1,797 digits as flat items of shape `[64]`, pixels in 0..1, row-major.
pub fn digits() -> FeatureSet {
    let (pixels, labels) = raw();
    let features = pixels.iter().map(|&p| p as f32 / 16.0).collect();
    FeatureSet {
        features,
        item_shape: vec![64],
        labels: labels.clone(),
        classes: class_names(),
    }
}

/// All digits as images of shape `[1, 8, 8]` (channel first).
pub fn digits_8x8() -> FeatureSet {
    let mut set = digits();
    set.item_shape = vec![1, 8, 8];
    set
}

/// All digits enlarged bilinearly to `[1, 28, 28]`, the book's CNN input.
pub fn digits_28x28() -> FeatureSet {
    let small = digits();
    let features = small
        .features
        .chunks_exact(64)
        .flat_map(|img| resize_bilinear(img, 1, (8, 8), (28, 28)).expect("8×8 digits enlarge to 28×28"))
        .collect();
    FeatureSet {
        features,
        item_shape: vec![1, 28, 28],
        labels: small.labels,
        classes: small.classes,
    }
}
