//! Checks the generated datasets: LSTM sequences, sentiment sentences and the two tokenizers, synthetic audio.

use ferrolab::data::{
    magnitude_spectrogram, sentiment_sentences, sequence_classes, spoken_digits, spoken_digits_spectrograms,
    Dataset, FeatureSet, WordPiece, WordTokenizer, AUDIO_SAMPLES, SEQ_FEATURES, SEQ_STEPS,
};

/// Nearest-centroid accuracy: centroids from `train`, evaluated on `test`.
fn nearest_centroid(train: &[(Vec<f32>, usize)], test: &[(Vec<f32>, usize)], classes: usize) -> f32 {
    let dim = train[0].0.len();
    let mut sums = vec![vec![0.0f32; dim]; classes];
    let mut counts = vec![0usize; classes];
    for (x, y) in train {
        for (s, v) in sums[*y].iter_mut().zip(x) {
            *s += v;
        }
        counts[*y] += 1;
    }
    for (s, n) in sums.iter_mut().zip(&counts) {
        s.iter_mut().for_each(|v| *v /= *n as f32);
    }
    let dist = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f32>();
    let right = test
        .iter()
        .filter(|(x, y)| {
            let best = (0..classes)
                .min_by(|&a, &b| dist(x, &sums[a]).total_cmp(&dist(x, &sums[b])))
                .unwrap();
            best == *y
        })
        .count();
    right as f32 / test.len() as f32
}

fn features_of(ds: &FeatureSet, f: impl Fn(&[f32]) -> Vec<f32>) -> Vec<(Vec<f32>, usize)> {
    (0..ds.len()).map(|i| (f(ds.item(i)), ds.labels[i])).collect()
}

/// Mean turning angle per step of channels 0 and 1: atan2 of summed cross and dot products.
fn turning_angle(item: &[f32]) -> Vec<f32> {
    let at = |t: usize, c: usize| item[t * SEQ_FEATURES + c];
    let (mut cross, mut dot) = (0.0f32, 0.0f32);
    for t in 0..SEQ_STEPS - 1 {
        cross += at(t, 0) * at(t + 1, 1) - at(t, 1) * at(t + 1, 0);
        dot += at(t, 0) * at(t + 1, 0) + at(t, 1) * at(t + 1, 1);
    }
    vec![cross.atan2(dot)]
}

#[test]
fn sequences_have_lstm_shapes_and_are_seeded() {
    let a = sequence_classes(3, 1);
    assert_eq!(a.len(), 30);
    assert_eq!(a.item_shape, vec![100, 10]);
    assert_eq!(a.class_counts(), vec![3; 10]);
    assert_eq!(a, sequence_classes(3, 1));
    assert_ne!(a.features, sequence_classes(3, 2).features);
    // Items of one class are not copies of each other.
    assert_eq!(a.labels[0], a.labels[10]);
    let diff: f32 = a.item(0).iter().zip(a.item(10)).map(|(x, y)| (x - y).abs()).sum();
    assert!(diff > 100.0, "{diff}");
    let dev: dfdx::tensor::Cpu = Default::default();
    let x = a
        .batches(8)
        .next()
        .unwrap()
        .unwrap()
        .sequences::<f32, _>(&dev)
        .unwrap();
    use dfdx::shapes::HasShape;
    assert_eq!(x.shape(), &(8, 100, 10));
}

#[test]
fn sequences_need_time_a_single_step_is_at_chance() {
    let train = sequence_classes(50, 11);
    let test = sequence_classes(50, 12);
    // Across steps: the turning angle separates classes.
    let acc = nearest_centroid(
        &features_of(&train, turning_angle),
        &features_of(&test, turning_angle),
        10,
    );
    assert!(acc > 0.8, "turning-angle accuracy {acc}");
    // One step alone (channels 0, 1 and their energy at t = 50): chance is 0.1.
    let one_step = |item: &[f32]| {
        let (x, y) = (item[50 * SEQ_FEATURES], item[50 * SEQ_FEATURES + 1]);
        vec![x, y, x * x + y * y]
    };
    let acc = nearest_centroid(&features_of(&train, one_step), &features_of(&test, one_step), 10);
    assert!(acc < 0.2, "single-step accuracy {acc}");
}

#[test]
fn sentiment_sentences_are_seeded_balanced_and_need_more_than_words() {
    let s = sentiment_sentences(400, 3);
    assert_eq!(s, sentiment_sentences(400, 3));
    assert_ne!(s.texts, sentiment_sentences(400, 4).texts);
    assert_eq!(s.labels.iter().filter(|&&l| l == 1).count(), 200);
    assert_eq!(s.classes, vec!["negative", "positive"]);
    let has = |label: usize, word: &str| {
        s.texts
            .iter()
            .zip(&s.labels)
            .any(|(t, &l)| l == label && t.split(' ').any(|w| w == word))
    };
    // Negation and the same adjectives on both sides.
    for word in ["not", "great", "bad"] {
        assert!(has(0, word) && has(1, word), "{word} on one side only");
    }
    // A word-count lexicon gets many but far from all right.
    let good = [
        "great",
        "good",
        "wonderful",
        "excellent",
        "fun",
        "moving",
        "brilliant",
        "loved",
        "liked",
        "enjoyed",
        "adored",
    ];
    let bad = [
        "bad", "boring", "awful", "terrible", "dull", "weak", "poor", "hated", "disliked", "hate",
    ];
    let right = s
        .texts
        .iter()
        .zip(&s.labels)
        .filter(|(t, &l)| {
            let score: i32 = t
                .split(' ')
                .map(|w| good.contains(&w) as i32 - bad.contains(&w) as i32)
                .sum();
            (score > 0) as usize == l
        })
        .count() as f32
        / 400.0;
    assert!(right > 0.5 && right < 0.85, "lexicon accuracy {right}");
}

#[test]
fn word_tokenizer_encodes_pads_and_decodes() {
    let texts = [
        "the movie was great",
        "the acting was bad",
        "the movie was not bad",
    ];
    let tok = WordTokenizer::fit(&texts, 8);
    assert_eq!(tok.word(0), Some("[PAD]"));
    assert_eq!(tok.word(1), Some("[UNK]"));
    assert_eq!(tok.word(2), Some("[CLS]"));
    assert_eq!(tok.word(3), Some("[SEP]"));
    // "the" and "was" appear 3 times; ties break alphabetically.
    assert_eq!(tok.id("the"), Some(4));
    assert_eq!(tok.id("was"), Some(5));
    assert_eq!(tok.vocab_size(), 4 + 7);
    let ids = tok.encode("The movie was GREAT");
    assert_eq!(ids.len(), 8);
    assert_eq!(ids[0], WordTokenizer::CLS);
    assert_eq!(ids[5], WordTokenizer::SEP);
    assert_eq!(&ids[6..], &[0, 0]);
    assert_eq!(tok.decode(&ids), "the movie was great");
    let ids = tok.encode("the plot was great");
    assert_eq!(ids[2], WordTokenizer::UNK);
    assert_eq!(tok.decode(&ids), "the [UNK] was great");
    // Too long: cut, [SEP] kept last.
    let ids = tok.encode("the movie was not bad the acting was great");
    assert_eq!(ids.len(), 8);
    assert_eq!(ids[7], WordTokenizer::SEP);
    // Same vocabulary whatever the order of the texts.
    let reversed: Vec<&str> = texts.iter().rev().copied().collect();
    assert_eq!(WordTokenizer::fit(&reversed, 8), tok);
}

#[test]
fn sentences_become_token_batches() {
    let s = sentiment_sentences(20, 0);
    let tok = WordTokenizer::fit(&s.texts, 10);
    let ts = s.encode(&tok);
    assert_eq!(ts.len(), 20);
    assert_eq!(ts.item_shape(), vec![10]);
    assert!(ts.ids.iter().all(|&id| id != WordTokenizer::UNK));
    let b = ts.batches(6).shuffled(5).next().unwrap().unwrap();
    let dev: dfdx::tensor::Cpu = Default::default();
    let t = b.tokens(&dev).unwrap();
    use dfdx::shapes::HasShape;
    assert_eq!(t.shape(), &(6, 10));
    assert_eq!(tok.decode(ts.item(b.indices[0])), s.texts[b.indices[0]]);
}

const VOCAB: &str =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\n##aff\n##able\nthe\nmovie\n##s\nwas\ngreat\n!\n,\nwant\n##ed\n##able\n";

#[test]
fn wordpiece_splits_longest_match_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vocab.txt");
    std::fs::write(&path, VOCAB).unwrap();
    let wp = WordPiece::from_vocab_file(&path).unwrap();
    assert_eq!(wp.vocab_size(), 17);
    assert_eq!(wp.tokenize("unaffable"), vec!["un", "##aff", "##able"]);
    assert_eq!(
        wp.tokenize("The MOVIES, wanted!"),
        vec!["the", "movie", "##s", ",", "want", "##ed", "!"]
    );
    // A word with an unmatched part is one [UNK], not a partial split.
    assert_eq!(wp.tokenize("unaffablex great"), vec!["[UNK]", "great"]);
    let ids = wp.encode("unaffable movies", 8);
    // Ids are line numbers; "##able" repeats at line 17, and the last one wins.
    assert_eq!(ids, vec![2, 4, 5, 16, 8, 9, 3, 0]);
    assert_eq!(wp.decode(&ids), "unaffable movies");
    assert_eq!(wp.encode("the movie was great", 4), vec![2, 7, 8, 3]);
}

#[test]
fn wordpiece_needs_the_special_tokens() {
    let err = WordPiece::from_vocab_str("my_vocab.txt", "[PAD]\n[UNK]\n[SEP]\nhello\n").unwrap_err();
    assert_eq!(err.to_string(), "my_vocab.txt: the vocabulary has no [CLS] token");
}

#[test]
fn audio_has_shapes_is_seeded_and_classes_differ() {
    let a = spoken_digits(2, 9);
    assert_eq!(a.len(), 20);
    assert_eq!(a.item_shape, vec![AUDIO_SAMPLES]);
    assert_eq!(a, spoken_digits(2, 9));
    assert_ne!(a.features, spoken_digits(2, 10).features);
    assert!(a.features.iter().all(|v| v.abs() < 1.5));

    // Classes differ in their spectra: nearest centroid on the normalised mean spectrum.
    let spectrum = |item: &[f32]| {
        let s = magnitude_spectrogram(item, 256, 256).unwrap();
        let mut mean = vec![0.0f32; s.bins];
        for frame in s.values.chunks_exact(s.bins) {
            mean.iter_mut().zip(frame).for_each(|(m, v)| *m += v);
        }
        let total: f32 = mean.iter().sum();
        mean.iter().map(|m| m / total).collect::<Vec<f32>>()
    };
    let train = spoken_digits(8, 1);
    let test = spoken_digits(4, 2);
    let acc = nearest_centroid(&features_of(&train, spectrum), &features_of(&test, spectrum), 10);
    assert!(acc > 0.6, "spectrum accuracy {acc}");
}

#[test]
fn audio_spectrograms_dataset() {
    let s = spoken_digits_spectrograms(1, 0, 256, 128).unwrap();
    assert_eq!(s.len(), 10);
    // (2000 - 256) / 128 + 1 = 14 frames, 129 bins.
    assert_eq!(s.item_shape, vec![14, 129]);
    assert!(s.features.iter().all(|v| *v >= 0.0));
}
