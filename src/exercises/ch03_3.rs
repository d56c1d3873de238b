//! Checks for the exercises of chapter 03_3 (tutorials/ch03-3.md).
