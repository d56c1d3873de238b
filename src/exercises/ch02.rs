//! Checks for the exercises of chapter 02 (tutorials/ch02.md).
