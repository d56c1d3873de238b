//! Checks for the exercises of chapter 04_3 (tutorials/ch04-3.md).
