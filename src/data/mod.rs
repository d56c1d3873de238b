//! Data for the book's chapters: loaders, generators, tokenizers, batching into dfdx tensors.
//!
//! Everything works offline: the UCI digits ship inside the crate, MNIST comes from the
//! user's own IDX files, CSV from the user's own tables, and the sequence, sentiment,
//! audio and two-moons sets are generated from a seed. Nothing here downloads, and nothing
//! here trains: datasets end as [`Batch`]es that convert to tensors.
//!
//! ```
//! use ferrolab::data::{digits_28x28, Dataset};
//! let split = digits_28x28().stratified_split(0.2, 42)?;
//! let batch = split.train.batches(64).shuffled(1).next().unwrap()?;
//! assert_eq!(batch.shape, vec![64, 1, 28, 28]);
//! # Ok::<(), ferrolab::data::DataError>(())
//! ```

mod audio;
mod batch;
mod csv_table;
mod dataset;
mod digits;
mod error;
mod idx;
mod image;
mod moons;
mod preview;
mod sequence;
mod text;
mod wordpiece;

pub use audio::{
    magnitude_spectrogram, spoken_digits, spoken_digits_spectrograms, Spectrogram, AUDIO_SAMPLES,
    AUDIO_SAMPLE_RATE,
};
pub use batch::{
    collate, Batch, BatchInputs, Batches, FeaturesTensor, ImagesTensor, SequencesTensor, TokensTensor,
};
pub use csv_table::{read_csv, read_csv_str, CsvOptions, CsvTable, LabelColumn, LabelKind};
pub use dataset::{stratified_split_indices, Dataset, FeatureSet, Input, Sample, Split, TokenSet};
pub use digits::{digits, digits_28x28, digits_8x8, DIGITS_CLASS_COUNTS};
pub use error::{Column, DataError, DataResult};
pub use idx::{parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels, read_mnist, IdxImages};
pub use image::resize_bilinear;
pub use moons::two_moons;
pub use preview::{Preview, PreviewRow};
pub use sequence::{sequence_classes, SEQ_CLASSES, SEQ_FEATURES, SEQ_STEPS};
pub use text::{sentiment_sentences, TextSet, WordTokenizer};
pub use wordpiece::{basic_tokenize, BatchEncoding, Encoding, WordPiece};
