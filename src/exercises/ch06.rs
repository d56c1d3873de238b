//! Checks for the exercises of chapter 06 (tutorials/ch06.md).
