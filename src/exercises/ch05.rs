//! Checks for the exercises of chapter 05 (tutorials/ch05.md).
