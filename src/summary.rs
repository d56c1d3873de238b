//! Keras-style model summaries.
