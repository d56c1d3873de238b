//! Layers of the book, each with its formula. Filled in below.
