//! Checks for the exercises of chapter 04_1 (tutorials/ch04-1.md).
