//! Checks for the exercises of chapter 03_1 (tutorials/ch03-1.md).
