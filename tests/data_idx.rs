//! Writes small IDX files (plain and gzipped, good and corrupt) and reads them back.

use std::io::Write;
use std::path::PathBuf;

use ferrolab::data::{parse_idx_images, read_idx_images, read_idx_labels, read_mnist, Dataset};

fn idx_images(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for word in [2051u32, count, rows, cols] {
        v.extend_from_slice(&word.to_be_bytes());
    }
    v.extend_from_slice(pixels);
    v
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&2049u32.to_be_bytes());
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Three 2×3 images whose pixels are 0..18, labels 7, 0, 9.
fn sample() -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..18).map(|p| p * 15).collect();
    (idx_images(3, 2, 3, &pixels), idx_labels(&[7, 0, 9]))
}

#[test]
fn reads_plain_files() {
    let dir = tempfile::tempdir().unwrap();
    let (img, lab) = sample();
    let ip = write(&dir, "imgs", &img);
    let lp = write(&dir, "labs", &lab);
    let images = read_idx_images(&ip).unwrap();
    assert_eq!((images.count, images.rows, images.cols), (3, 2, 3));
    assert_eq!(images.pixels[17], 255);
    assert_eq!(read_idx_labels(&lp).unwrap(), vec![7, 0, 9]);

    let ds = read_mnist(&ip, &lp).unwrap();
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.item_shape, vec![1, 2, 3]);
    assert_eq!(ds.labels, vec![7, 0, 9]);
    assert_eq!(ds.classes.len(), 10);
    assert_eq!(ds.item(2)[5], 1.0);
    assert_eq!(ds.item(0)[1], 15.0 / 255.0);
}

#[test]
fn reads_gzipped_files_whatever_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let (img, lab) = sample();
    // Gzip detected by content: names without .gz, and a plain file named .gz.
    let ip = write(&dir, "train-images-idx3-ubyte", &gzip(&img));
    let lp = write(&dir, "labels.gz", &lab);
    let plain = read_mnist(write(&dir, "i.raw", &img), write(&dir, "l.raw", &lab)).unwrap();
    assert_eq!(read_mnist(&ip, &lp).unwrap(), plain);
}

#[test]
fn bad_magic_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (img, lab) = sample();
    // Labels given where images are expected.
    let p = write(&dir, "swapped", &lab);
    let msg = read_idx_images(&p).unwrap_err().to_string();
    assert!(
        msg.contains("swapped: bad magic number 2049 (0x00000801)"),
        "{msg}"
    );
    assert!(msg.contains("starts with 2051"), "{msg}");
    let p = write(&dir, "swapped2", &img);
    let msg = read_idx_labels(&p).unwrap_err().to_string();
    assert!(msg.contains("bad magic number 2051"), "{msg}");
}

#[test]
fn truncation_gives_the_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (img, _) = sample();
    let p = write(&dir, "short", &img[..30]);
    let msg = read_idx_images(&p).unwrap_err().to_string();
    assert!(
        msg.contains("short: truncated at byte 30: header says 3 images of 2×3 (18 bytes after the 16-byte header), found 14"),
        "{msg}"
    );
    let p = write(&dir, "tiny", &img[..10]);
    let msg = read_idx_images(&p).unwrap_err().to_string();
    assert!(msg.contains("tiny: truncated at byte 10"), "{msg}");
    let p = write(&dir, "short.gz", &gzip(&img[..20]));
    let msg = read_idx_images(&p).unwrap_err().to_string();
    assert!(
        msg.contains("truncated at byte 20 of the decompressed data"),
        "{msg}"
    );
}

#[test]
fn corrupt_gzip_and_trailing_bytes_are_errors() {
    let (img, _) = sample();
    let mut gz = gzip(&img);
    gz.truncate(gz.len() / 2);
    let msg = parse_idx_images("half.gz", &gz).unwrap_err().to_string();
    assert!(msg.starts_with("half.gz: gzip data is corrupt"), "{msg}");
    let mut long = img.clone();
    long.push(0);
    let msg = parse_idx_images("long", &long).unwrap_err().to_string();
    assert!(msg.starts_with("long: 1 extra bytes after the data"), "{msg}");
}

#[test]
fn count_mismatch_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let (img, _) = sample();
    let ip = write(&dir, "imgs", &img);
    let lp = write(&dir, "labs", &idx_labels(&[1, 2]));
    let msg = read_mnist(&ip, &lp).unwrap_err().to_string();
    assert!(msg.contains("imgs and "), "{msg}");
    assert!(
        msg.ends_with("labs: count mismatch: 3 images but 2 labels"),
        "{msg}"
    );
}
