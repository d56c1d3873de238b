//! Synthetic "spoken digit" sounds for the concepts chapter, and a magnitude spectrogram by plain DFT.
//!
//! Each class is a voiced vowel-like sound: harmonics of a pitch contour (rising, falling
//! or flat by class) shaped by a class-specific pair of formant frequencies, under a
//! smooth envelope, plus noise. Speaker pitch, formants (±6 %) and loudness vary per
//! sample. It sounds nothing like real speech and is not meant to: it gives waveforms
//! whose classes differ in the spectrum, as speech digits do. The DFT is O(N²) per frame,
//! fine for these short frames and too slow for long audio.

use std::f32::consts::PI;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::dataset::FeatureSet;
use super::error::{DataError, DataResult};

pub const AUDIO_SAMPLE_RATE: usize = 8000;
/// 0.25 s at 8 kHz.
pub const AUDIO_SAMPLES: usize = 2000;

/// (F1, F2) in Hz per class, spread over the vowel chart so classes differ in spectrum.
const FORMANTS: [(f32, f32); 10] = [
    (300.0, 2300.0),
    (400.0, 1900.0),
    (520.0, 1650.0),
    (650.0, 1150.0),
    (750.0, 1400.0),
    (350.0, 850.0),
    (450.0, 1050.0),
    (600.0, 2500.0),
    (700.0, 1900.0),
    (500.0, 1200.0),
];
/// Relative pitch change over the sound per class (+0.3: ends 30 % higher than it starts).
const PITCH_SLOPES: [f32; 10] = [-0.3, 0.3, 0.0, -0.15, 0.15, 0.3, -0.3, 0.0, 0.15, -0.15];
const FORMANT_WIDTH_HZ: f32 = 90.0;

/// `per_class` waveforms of each class, items `[2000]` (8 kHz, 0.25 s), labels cycling 0..9.
pub fn spoken_digits(per_class: usize, seed: u64) -> FeatureSet {
    let mut rng = StdRng::seed_from_u64(seed);
    let noise = Normal::new(0.0f32, 0.02).expect("valid normal");
    let n = per_class * 10;
    let mut features = Vec::with_capacity(n * AUDIO_SAMPLES);
    let mut labels = Vec::with_capacity(n);
    let dt = 1.0 / AUDIO_SAMPLE_RATE as f32;
    for i in 0..n {
        let class = i % 10;
        let pitch = rng.gen_range(90.0f32..220.0);
        let (f1, f2) = FORMANTS[class];
        let (f1, f2) = (f1 * rng.gen_range(0.94..1.06), f2 * rng.gen_range(0.94..1.06));
        let loudness = rng.gen_range(0.5f32..1.0);
        let mut phase = 0.0f32;
        let mut wave = Vec::with_capacity(AUDIO_SAMPLES);
        for s in 0..AUDIO_SAMPLES {
            let x = s as f32 / AUDIO_SAMPLES as f32; // 0..1 through the sound
            let f0 = pitch * (1.0 + PITCH_SLOPES[class] * (x - 0.5));
            // Kept in 0..2π: k·phase stays small enough for f32 sin to be accurate.
            phase = (phase + 2.0 * PI * f0 * dt) % (2.0 * PI);
            let mut v = 0.0;
            // Harmonics up to just below Nyquist, weighted by the two formant resonances.
            let mut k = 1;
            while (k as f32) * f0 < 0.48 * AUDIO_SAMPLE_RATE as f32 {
                let f = k as f32 * f0;
                let gain = resonance(f, f1) + 0.7 * resonance(f, f2);
                v += gain * (k as f32 * phase).sin();
                k += 1;
            }
            let envelope = (PI * x).sin().sqrt(); // smooth onset and release
            wave.push(v * envelope);
        }
        // Peak-normalise so loudness is a per-sample choice, not a class property.
        let peak = wave.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
        features.extend(
            wave.iter()
                .map(|v| loudness * 0.8 * v / peak + noise.sample(&mut rng)),
        );
        labels.push(class);
    }
    FeatureSet {
        features,
        item_shape: vec![AUDIO_SAMPLES],
        labels,
        classes: (0..10).map(|d| d.to_string()).collect(),
    }
}

/// Gain of a resonance centred at `centre` Hz for a harmonic at `f` Hz (Lorentzian shape).
fn resonance(f: f32, centre: f32) -> f32 {
    let d = (f - centre) / FORMANT_WIDTH_HZ;
    1.0 / (1.0 + d * d)
}

/// Magnitudes of a short-time DFT: `frames × bins` values, row-major, bins = frame_len/2 + 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    pub frames: usize,
    pub bins: usize,
    pub values: Vec<f32>,
}

/// Hann-windowed magnitude spectrogram of `signal`; frames start every `hop` samples and
/// must fit whole (a trailing part shorter than a frame is dropped).
///
/// Bin `k` is frequency `k * sample_rate / frame_len`. A `frame_len` or `hop` of 0 is an error.
pub fn magnitude_spectrogram(signal: &[f32], frame_len: usize, hop: usize) -> DataResult<Spectrogram> {
    if frame_len == 0 || hop == 0 {
        return Err(DataError::Config {
            what: "magnitude_spectrogram".into(),
            why: format!("frame_len and hop must be at least 1, got {frame_len} and {hop}"),
        });
    }
    let bins = frame_len / 2 + 1;
    let frames = if signal.len() < frame_len {
        0
    } else {
        (signal.len() - frame_len) / hop + 1
    };
    let window: Vec<f32> = (0..frame_len)
        .map(|n| 0.5 - 0.5 * (2.0 * PI * n as f32 / frame_len as f32).cos())
        .collect();
    // cos/sin of 2πm/N; the DFT needs angle k·n, looked up as (k·n) mod N.
    let (cos, sin): (Vec<f32>, Vec<f32>) = (0..frame_len)
        .map(|m| {
            let a = 2.0 * PI * m as f32 / frame_len as f32;
            (a.cos(), a.sin())
        })
        .unzip();
    let mut values = Vec::with_capacity(frames * bins);
    let mut windowed = vec![0.0f32; frame_len];
    for f in 0..frames {
        let chunk = &signal[f * hop..f * hop + frame_len];
        for ((w, &s), &h) in windowed.iter_mut().zip(chunk).zip(&window) {
            *w = s * h;
        }
        for k in 0..bins {
            let (mut re, mut im) = (0.0f32, 0.0f32);
            for (n, &x) in windowed.iter().enumerate() {
                let m = (k * n) % frame_len;
                re += x * cos[m];
                im -= x * sin[m];
            }
            values.push((re * re + im * im).sqrt());
        }
    }
    Ok(Spectrogram { frames, bins, values })
}

/// [`spoken_digits`] turned into spectrograms: items `[frames, bins]`, ready for an RNN or
/// (as `[1, frames, bins]` after `reshape`) a CNN.
pub fn spoken_digits_spectrograms(
    per_class: usize,
    seed: u64,
    frame_len: usize,
    hop: usize,
) -> DataResult<FeatureSet> {
    let waves = spoken_digits(per_class, seed);
    let mut features = Vec::new();
    let mut shape = vec![0, frame_len / 2 + 1];
    for wave in waves.features.chunks_exact(AUDIO_SAMPLES) {
        let s = magnitude_spectrogram(wave, frame_len, hop)?;
        shape[0] = s.frames;
        features.extend(s.values);
    }
    Ok(FeatureSet {
        features,
        item_shape: shape,
        labels: waves.labels,
        classes: waves.classes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_tone_peaks_in_its_bin() {
        // 1000 Hz at 8 kHz with 256-sample frames: bin 1000 * 256 / 8000 = 32.
        let tone: Vec<f32> = (0..1024)
            .map(|n| (2.0 * PI * 1000.0 * n as f32 / 8000.0).sin())
            .collect();
        let s = magnitude_spectrogram(&tone, 256, 128).unwrap();
        assert_eq!((s.frames, s.bins), (7, 129));
        for frame in s.values.chunks_exact(s.bins) {
            let peak = (0..s.bins)
                .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))
                .unwrap();
            assert_eq!(peak, 32);
            // Hann window: amplitude 1 sine gives N/4 at its bin.
            assert!((frame[32] - 64.0).abs() < 0.5, "{}", frame[32]);
            assert!(frame[40] < 1e-2);
        }
    }

    #[test]
    fn short_signal_has_no_frames() {
        let s = magnitude_spectrogram(&[1.0; 10], 16, 4).unwrap();
        assert!(magnitude_spectrogram(&[1.0; 10], 0, 4).is_err());
        assert_eq!((s.frames, s.bins, s.values.len()), (0, 9, 0));
    }
}
