//! Checks for the exercises of chapter 01 (tutorials/ch01.md).
