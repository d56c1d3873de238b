//! [`DebugDisplay`]: every `Debug` value shows itself as a cell's result in one compile.
//!
//! evcxr shows a cell's last expression by compiling `(expr).evcxr_display();` first; when the
//! type has no such method, that compile fails and evcxr compiles the cell again with
//! `format!("{:?}", …)`. With this trait in scope (the prelude brings it), every `Debug` type
//! has the method and prints the same `{:?}` text, so an expression cell such as `1+1`
//! compiles once instead of twice. Types with their own inherent `evcxr_display` (plots,
//! `History`, summaries) keep theirs: Rust picks inherent methods before trait methods.
//! evcxr's `:fmt` and `:types` settings no longer apply to such results.

use super::{evcxr_print, mime, MimeBundle};

/// Shows `{:?}` of a value as a cell's `text/plain` result (see the module docs).
pub trait DebugDisplay {
    fn evcxr_display(&self);
}

impl<T: std::fmt::Debug + ?Sized> DebugDisplay for T {
    /// Shows nothing for `()`: a cell ending in a `for` loop or an `if` without `else` has
    /// no value to show.
    fn evcxr_display(&self) {
        if std::any::type_name::<T>() == "()" {
            return;
        }
        evcxr_print(&MimeBundle::new().with(mime::PLAIN, format!("{self:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::display::capture;

    #[test]
    fn debug_values_print_as_evcxr_text_plain() {
        let ((), out) = capture(|| (1 + 1).evcxr_display());
        assert_eq!(out, "EVCXR_BEGIN_CONTENT text/plain\n2\nEVCXR_END_CONTENT\n");
        let ((), out) = capture(|| "s".evcxr_display());
        assert_eq!(out, "EVCXR_BEGIN_CONTENT text/plain\n\"s\"\nEVCXR_END_CONTENT\n");
    }

    #[test]
    fn the_unit_value_shows_nothing() {
        let ((), out) = capture(|| ().evcxr_display());
        assert_eq!(out, "");
        let ((), out) = capture(|| ((),).evcxr_display());
        assert_eq!(out, "EVCXR_BEGIN_CONTENT text/plain\n((),)\nEVCXR_END_CONTENT\n");
    }

    #[test]
    fn an_inherent_evcxr_display_still_wins() {
        let bundle = MimeBundle::new().with(mime::HTML, "<b>x</b>");
        let ((), out) = capture(|| bundle.evcxr_display());
        assert!(
            out.starts_with("EVCXR_BEGIN_CONTENT text/html\n<b>x</b>\n"),
            "{out}"
        );
    }
}
