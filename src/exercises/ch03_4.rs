//! Checks for the exercises of chapter 03_4 (tutorials/ch03-4.md).
