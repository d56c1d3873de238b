//! Everything a chapter cell needs, in one `use ferrolab::prelude::*;`: the layers, the book's
//! models, their summaries, the data sets and their traits, plots, display, training, the
//! chapters' exercise checks, and dfdx itself (devices, tensors, optimizers, losses)
//! underneath. No chapter cell needs a `use` line for a library item.
//!
//! ```
//! use ferrolab::prelude::*;
//! // The data sets' traits come along: `len` is `Dataset`'s.
//! let data = ferrolab::data::digits_28x28().stratified_split(0.2, 42).unwrap();
//! assert_eq!(data.train.len() + data.test.len(), 1797);
//! let moons = two_moons(100, 0.1, 0);
//! let chart = LineChart::new().line_y("loss", &[1.0, 0.5, 0.25]).log_y();
//! assert!(chart.to_svg().starts_with("<svg"));
//! let verdict = exercises::check("doc", || Ok(()));
//! assert!(verdict.is_correct() && moons.len() == 100);
//! ```
// In scope so that a cell's last expression compiles once (see `display::DebugDisplay`).
pub use crate::data::{
    digits, digits_28x28, digits_8x8, magnitude_spectrogram, read_csv, read_mnist, sentiment_sentences,
    sequence_classes, spoken_digits, spoken_digits_spectrograms, two_moons, Batch, BatchEncoding, Dataset,
    Encoding, FeatureSet, Sample, Split, TextSet, TokenSet, WordPiece, WordTokenizer,
};
pub use crate::display::DebugDisplay as _;
pub use crate::display::{display, DisplayHandle, Displayable, Html, MimeBundle, Progress};
pub use crate::error::{Error, Result};
pub use crate::exercises::{self, Check};
pub use crate::models::{
    cosine, BertClassifier, BertConfig, BertModel, BertSequenceClassifier, Cnn, Mlp, StackedLstm,
};
pub use crate::nn::{
    scaled_dot_product_attention, Activation, AttentionConfig, AvgPool2D, Conv2D, Conv2DConfig, Dense, Dyn1,
    Dyn2, Dyn3, Dyn4, Embedding, EncoderBlock, EncoderConfig, FeedForward, FeedForwardConfig, Flatten,
    LastState, LayerNorm, LayerNormConfig, Lstm, MaxPool2D, MultiHeadAttention, OutputShape, Real, Sequences,
    SimpleRnn,
};
pub use crate::plot::{
    AttentionMap, ConfusionMatrix, Curves, DecisionRegions, FeatureMaps, Heatmap, ImageGrid, LineChart, Plot,
    Series,
};
pub use crate::summary::Summary;
pub use crate::train::{
    evaluate, fit, fit_with, load_checkpoint, predict, predict_proba, request_cancel, save_checkpoint,
    BatchProgress, Callback, Classifier, CsvLogger, EarlyStopping, FitConfig, History, Keras, LiveCurves,
    Metrics, ModelCheckpoint, Observer, StopReason, TextProgress, TrainError, Verbose,
};
pub use crate::{data, plot};
pub use dfdx::optim::{Adam, AdamConfig, RMSprop, RMSpropConfig, Sgd, SgdConfig};
pub use dfdx::prelude::*;
