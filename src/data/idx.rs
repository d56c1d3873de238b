//! Reads MNIST-style IDX files that users bring: u8 images (magic 2051) and u8 labels (2049).
//!
//! Each file may be plain or gzip-compressed; gzip is recognised by its magic bytes
//! (1f 8b), never by the file name. Only the two MNIST layouts are read (unsigned bytes,
//! 3-dim images, 1-dim labels); other IDX element types are rejected with their magic.

use std::io::Read;
use std::path::Path;

use super::dataset::FeatureSet;
use super::error::{DataError, DataResult};

const IMAGES_MAGIC: u32 = 2051; // 0x00000803: u8 elements, 3 dims
const LABELS_MAGIC: u32 = 2049; // 0x00000801: u8 elements, 1 dim
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Images from an IDX file: `count` images of `rows × cols` u8 pixels, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

/// Reads an IDX image file (plain or gzip).
pub fn read_idx_images(path: impl AsRef<Path>) -> DataResult<IdxImages> {
    let (name, bytes) = read_file(path.as_ref())?;
    parse_idx_images(&name, &bytes)
}

/// Reads an IDX label file (plain or gzip).
pub fn read_idx_labels(path: impl AsRef<Path>) -> DataResult<Vec<u8>> {
    let (name, bytes) = read_file(path.as_ref())?;
    parse_idx_labels(&name, &bytes)
}

/// Reads an image file and its label file as items `[1, rows, cols]`, pixels scaled to 0..1.
///
/// Classes are named "0".."9" (more if a label is above 9).
pub fn read_mnist(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> DataResult<FeatureSet> {
    let img = read_idx_images(images.as_ref())?;
    let lab = read_idx_labels(labels.as_ref())?;
    if img.count != lab.len() {
        return Err(DataError::mismatch(
            format!("{} and {}", images.as_ref().display(), labels.as_ref().display()),
            format!("count mismatch: {} images but {} labels", img.count, lab.len()),
        ));
    }
    let classes = lab.iter().map(|&l| l as usize + 1).max().unwrap_or(0).max(10);
    FeatureSet::new(
        img.pixels.iter().map(|&p| p as f32 / 255.0).collect(),
        vec![1, img.rows, img.cols],
        lab.iter().map(|&l| l as usize).collect(),
        (0..classes).map(|c| c.to_string()).collect(),
    )
}

/// Parses IDX image bytes; `name` stands for the file in error messages.
pub fn parse_idx_images(name: &str, bytes: &[u8]) -> DataResult<IdxImages> {
    let (data, note) = maybe_gunzip(name, bytes)?;
    let header = Header::read(name, &data, note, IMAGES_MAGIC, "image", 3)?;
    let [count, rows, cols] = [header.dims[0], header.dims[1], header.dims[2]];
    let body = header.body(name, &data, note, count * rows * cols, || {
        format!("{count} images of {rows}×{cols}")
    })?;
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: body.to_vec(),
    })
}

/// Parses IDX label bytes; `name` stands for the file in error messages.
pub fn parse_idx_labels(name: &str, bytes: &[u8]) -> DataResult<Vec<u8>> {
    let (data, note) = maybe_gunzip(name, bytes)?;
    let header = Header::read(name, &data, note, LABELS_MAGIC, "label", 1)?;
    let count = header.dims[0];
    let body = header.body(name, &data, note, count, || format!("{count} labels"))?;
    Ok(body.to_vec())
}

fn read_file(path: &Path) -> DataResult<(String, Vec<u8>)> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| DataError::io(&name, e))?;
    Ok((name, bytes))
}

/// Decompresses gzip data; the note tells error messages that offsets are after gunzip.
fn maybe_gunzip<'a>(name: &str, bytes: &'a [u8]) -> DataResult<(std::borrow::Cow<'a, [u8]>, &'static str)> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok((bytes.into(), ""));
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| DataError::file(name, format!("gzip data is corrupt: {e}")))?;
    Ok((out.into(), " of the decompressed data"))
}

struct Header {
    dims: Vec<usize>,
    len: usize,
}

impl Header {
    fn read(name: &str, data: &[u8], note: &str, magic: u32, what: &str, rank: usize) -> DataResult<Header> {
        let len = 4 * (1 + rank);
        let word = |i: usize| u32::from_be_bytes(data[4 * i..4 * i + 4].try_into().unwrap());
        if data.len() < 4 {
            return Err(DataError::file(
                name,
                format!(
                    "truncated at byte {}{note}: an IDX header needs {len} bytes",
                    data.len()
                ),
            ));
        }
        let found = word(0);
        if found != magic {
            return Err(DataError::file(
                name,
                format!(
                    "bad magic number {found} (0x{found:08x}); an IDX {what} file starts with {magic} (0x{magic:08x})"
                ),
            ));
        }
        if data.len() < len {
            return Err(DataError::file(
                name,
                format!(
                    "truncated at byte {}{note}: the {what} header needs {len} bytes",
                    data.len()
                ),
            ));
        }
        Ok(Header {
            dims: (1..=rank).map(|i| word(i) as usize).collect(),
            len,
        })
    }

    fn body<'d>(
        &self,
        name: &str,
        data: &'d [u8],
        note: &str,
        need: usize,
        describe: impl Fn() -> String,
    ) -> DataResult<&'d [u8]> {
        let have = data.len() - self.len;
        if have < need {
            return Err(DataError::file(
                name,
                format!(
                    "truncated at byte {}{note}: header says {} ({} bytes after the {}-byte header), found {have}",
                    data.len(),
                    describe(),
                    need,
                    self.len
                ),
            ));
        }
        if have > need {
            return Err(DataError::file(
                name,
                format!(
                    "{} extra bytes after the data: header says {} ({need} bytes)",
                    have - need,
                    describe()
                ),
            ));
        }
        Ok(&data[self.len..])
    }
}
