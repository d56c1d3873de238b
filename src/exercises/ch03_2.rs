//! Checks for the exercises of chapter 03_2 (tutorials/ch03-2.md).
