//! Checks for the exercises of chapter 04_2 (tutorials/ch04-2.md).
