//! The book models.
