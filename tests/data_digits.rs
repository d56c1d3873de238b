//! Checks the shipped UCI digits: the file itself, the loaders, the stratified split and resampling.

use std::io::Read;

use ferrolab::data::{digits, digits_28x28, digits_8x8, Dataset, DIGITS_CLASS_COUNTS};

/// Counts labels straight from the vendored file, independent of the loader.
fn counts_from_file() -> (usize, Vec<usize>) {
    let gz = include_bytes!("../src/data/digits.csv.gz");
    assert_eq!(gz.len(), 57_523);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    let mut counts = vec![0; 10];
    let mut rows = 0;
    for line in text.lines() {
        let fields: Vec<u32> = line.split(',').map(|f| f.parse().unwrap()).collect();
        assert_eq!(fields.len(), 65);
        assert!(fields[..64].iter().all(|&p| p <= 16));
        counts[fields[64] as usize] += 1;
        rows += 1;
    }
    (rows, counts)
}

#[test]
fn digits_has_1797_rows_with_the_known_class_counts() {
    let (rows, counts) = counts_from_file();
    assert_eq!(rows, 1797);
    assert_eq!(counts, vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    assert_eq!(counts, DIGITS_CLASS_COUNTS.to_vec());

    let d = digits();
    assert_eq!(d.len(), 1797);
    assert_eq!(d.item_shape, vec![64]);
    assert_eq!(d.class_counts(), counts);
    assert_eq!(d.classes[7], "7");
}

#[test]
fn pixels_are_scaled_to_0_1_and_match_the_file() {
    let d = digits();
    assert!(d.features.iter().all(|&v| (0.0..=1.0).contains(&v)));
    assert!(d.features.contains(&1.0));
    // First row of the file starts 0,0,5,13,9,1 and is a 0.
    assert_eq!(
        &d.item(0)[..6],
        &[0.0, 0.0, 5.0 / 16.0, 13.0 / 16.0, 9.0 / 16.0, 1.0 / 16.0]
    );
    assert_eq!(d.labels[0], 0);
    let img = digits_8x8();
    assert_eq!(img.item_shape, vec![1, 8, 8]);
    assert_eq!(img.features, d.features);
}

#[test]
fn split_is_stratified_disjoint_and_seeded() {
    let d = digits();
    let a = d.stratified_split(0.2, 42).unwrap();
    let b = d.stratified_split(0.2, 42).unwrap();
    let c = d.stratified_split(0.2, 43).unwrap();
    assert_eq!(a.test.features, b.test.features);
    assert_eq!(a.train.labels, b.train.labels);
    assert_ne!(a.test.features, c.test.features);

    // Each class gives round(20 %) of its items to the test side.
    let expected: Vec<usize> = DIGITS_CLASS_COUNTS
        .iter()
        .map(|&n| (n as f64 * 0.2).round() as usize)
        .collect();
    assert_eq!(a.test.class_counts(), expected);
    assert_eq!(a.train.len() + a.test.len(), 1797);
    for (class, (&tr, &te)) in a
        .train
        .class_counts()
        .iter()
        .zip(&a.test.class_counts())
        .enumerate()
    {
        assert_eq!(tr + te, DIGITS_CLASS_COUNTS[class]);
    }

    // No item on both sides. Some digit images repeat in the file, so compare by
    // occurrence count: every image appears as often in train+test as in the full set.
    let key = |v: &[f32]| v.iter().map(|x| (x * 16.0) as u8).collect::<Vec<u8>>();
    let mut all: Vec<Vec<u8>> = (0..d.len()).map(|i| key(d.item(i))).collect();
    let mut parts: Vec<Vec<u8>> = (0..a.train.len())
        .map(|i| key(a.train.item(i)))
        .chain((0..a.test.len()).map(|i| key(a.test.item(i))))
        .collect();
    all.sort();
    parts.sort();
    assert_eq!(all, parts);
}

#[test]
fn split_indices_never_overlap() {
    let d = digits();
    let (train, test) = ferrolab::data::stratified_split_indices(&d.labels, 0.25, 7).unwrap();
    assert_eq!(train.len() + test.len(), 1797);
    let mut seen = vec![false; 1797];
    for &i in train.iter().chain(&test) {
        assert!(!seen[i], "index {i} on both sides");
        seen[i] = true;
    }
}

#[test]
fn enlarged_digits_fit_the_book_cnn() {
    let big = digits_28x28();
    assert_eq!(big.len(), 1797);
    assert_eq!(big.item_shape, vec![1, 28, 28]);
    assert_eq!(big.features.len(), 1797 * 784);
    assert!(big.features.iter().all(|&v| (0.0..=1.0).contains(&v)));
    // The corner pixel of a digit (always 0 in the file for item 0) stays 0.
    assert_eq!(big.item(0)[0], 0.0);
    // Mean brightness is kept roughly: bilinear enlargement averages neighbours.
    let small = digits();
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    assert!((mean(big.item(5)) - mean(small.item(5))).abs() < 0.05);

    let batch = big.batches(32).next().unwrap().unwrap();
    let dev: dfdx::tensor::Cpu = Default::default();
    let x = batch.images::<f32, _>(&dev).unwrap();
    use dfdx::shapes::HasShape;
    assert_eq!(x.shape(), &(32, 1, 28, 28));
}
