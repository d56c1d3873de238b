//! A lexical "is this Rust cell finished?" check, for front ends deciding
//! whether Enter runs the cell or opens a new line.
//!
//! It tokenises just enough of Rust to see delimiters, string, char and raw
//! string literals, lifetimes and (nested) comments. It does not parse: code
//! that is lexically balanced but syntactically wrong (`let = ;`) is reported
//! complete and left for the compiler to reject, and a trailing binary operator
//! does not make a cell incomplete.

use super::Completeness;

/// Spaces per open delimiter in the suggested indent.
const INDENT: &str = "    ";

/// Decides whether `code` is complete, needs more lines, or can never be valid.
pub fn is_complete(code: &str) -> Completeness {
    let chars: Vec<char> = code.chars().collect();
    let mut stack: Vec<char> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '(' | '[' | '{' => {
                stack.push(c);
                i += 1;
            }
            ')' | ']' | '}' => {
                let opener = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(opener) {
                    return Completeness::Invalid;
                }
                i += 1;
            }
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => match skip_block_comment(&chars, i) {
                Some(end) => i = end,
                None => return Completeness::Incomplete(String::new()),
            },
            '"' => match skip_quoted(&chars, i + 1, '"') {
                Some(end) => i = end,
                None => return Completeness::Incomplete(String::new()),
            },
            '\'' => match skip_char_or_lifetime(&chars, i) {
                Some(end) => i = end,
                None => return Completeness::Incomplete(String::new()),
            },
            c if c == '_' || c.is_alphabetic() => {
                let start = i;
                while i < chars.len() && (chars[i] == '_' || chars[i].is_alphanumeric()) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match literal_after_prefix(&word, &chars, i) {
                    Prefixed::Not => {}
                    Prefixed::Ends(end) => i = end,
                    Prefixed::Unterminated => return Completeness::Incomplete(String::new()),
                }
            }
            _ => i += 1,
        }
    }
    if stack.is_empty() {
        Completeness::Complete
    } else {
        Completeness::Incomplete(INDENT.repeat(stack.len()))
    }
}

/// What follows an identifier that might be a literal prefix (`r`, `b`, `br`, `c`, `cr`).
enum Prefixed {
    /// Not a literal: an ordinary identifier (or a raw identifier `r#name`).
    Not,
    /// A literal that ends just before this index.
    Ends(usize),
    /// A literal that runs off the end of the input.
    Unterminated,
}

fn literal_after_prefix(word: &str, chars: &[char], i: usize) -> Prefixed {
    let next = chars.get(i).copied();
    let to_prefixed = |end: Option<usize>| end.map_or(Prefixed::Unterminated, Prefixed::Ends);
    match (word, next) {
        ("r" | "br" | "cr", Some('"' | '#')) => {
            let mut hashes = 0;
            let mut j = i;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                // `r#ident` is a raw identifier, not a string.
                return Prefixed::Not;
            }
            to_prefixed(skip_raw_string(chars, j + 1, hashes))
        }
        ("b" | "c", Some('"')) => to_prefixed(skip_quoted(chars, i + 1, '"')),
        ("b", Some('\'')) => to_prefixed(skip_quoted(chars, i + 1, '\'')),
        _ => Prefixed::Not,
    }
}

/// Skips a string body starting at `i` (after the opening quote), honouring
/// backslash escapes; returns the index after the closing `quote`.
fn skip_quoted(chars: &[char], mut i: usize, quote: char) -> Option<usize> {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Skips a raw string body starting at `i` (after `r#…#"`); it ends at `"`
/// followed by `hashes` hashes, and has no escapes.
fn skip_raw_string(chars: &[char], mut i: usize, hashes: usize) -> Option<usize> {
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    None
}

/// Skips a block comment starting at `i` (on `/*`); Rust block comments nest.
fn skip_block_comment(chars: &[char], mut i: usize) -> Option<usize> {
    let mut depth = 0;
    while i < chars.len() {
        if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return Some(i);
            }
        } else {
            i += 1;
        }
    }
    None
}

/// At a `'`: a char literal (`'a'`, `'\n'`, `'\u{1F600}'`) or a lifetime or
/// label (`'a`, `'static`). Returns the index after it, or `None` when the
/// input ends inside a char literal.
fn skip_char_or_lifetime(chars: &[char], i: usize) -> Option<usize> {
    match chars.get(i + 1) {
        None => None,
        Some('\\') => skip_quoted(chars, i + 1, '\''),
        // `'x'`: one char then a quote is a char literal, whatever the char.
        Some(_) if chars.get(i + 2) == Some(&'\'') => Some(i + 3),
        Some(c) if *c == '_' || c.is_alphabetic() => {
            let mut j = i + 1;
            while j < chars.len() && (chars[j] == '_' || chars[j].is_alphanumeric()) {
                j += 1;
            }
            Some(j)
        }
        // A lone quote before something that is neither: treat it as punctuation
        // and let the compiler complain.
        Some(_) => Some(i + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Completeness::*;

    fn incomplete(indent: &str) -> Completeness {
        Incomplete(indent.to_string())
    }

    #[test]
    fn balanced_code_is_complete() {
        assert_eq!(is_complete(""), Complete);
        assert_eq!(is_complete("1 + 1"), Complete);
        assert_eq!(is_complete("fn f() { let v = [1, (2)]; }"), Complete);
        assert_eq!(is_complete("let x = 1;\nx"), Complete);
    }

    #[test]
    fn open_delimiters_are_incomplete_with_indent() {
        assert_eq!(is_complete("fn f() {"), incomplete("    "));
        assert_eq!(is_complete("fn f() {\n    if x {"), incomplete("        "));
        assert_eq!(is_complete("let v = vec![1,"), incomplete("    "));
        assert_eq!(is_complete("foo(1,"), incomplete("    "));
    }

    #[test]
    fn mismatched_or_extra_closers_are_invalid() {
        assert_eq!(is_complete("(]"), Invalid);
        assert_eq!(is_complete("}"), Invalid);
        assert_eq!(is_complete("fn f() { )"), Invalid);
        assert_eq!(is_complete("[1, 2))"), Invalid);
    }

    #[test]
    fn delimiters_inside_strings_are_ignored() {
        assert_eq!(is_complete(r#"let s = "{(";"#), Complete);
        assert_eq!(is_complete(r#"let s = "a \" {";"#), Complete);
        assert_eq!(is_complete(r#"let s = b"}";"#), Complete);
        assert_eq!(is_complete(r#"let s = c"]";"#), Complete);
    }

    #[test]
    fn unterminated_strings_are_incomplete() {
        assert_eq!(is_complete(r#"let s = "abc"#), incomplete(""));
        assert_eq!(is_complete(r#"let s = "abc\""#), incomplete(""));
        assert_eq!(is_complete("let s = b\"abc"), incomplete(""));
    }

    #[test]
    fn raw_strings() {
        assert_eq!(is_complete(r###"let s = r#"a " { "#;"###), Complete);
        assert_eq!(is_complete(r###"let s = r##"a "# }"##;"###), Complete);
        assert_eq!(is_complete(r#"let s = r"\";"#), Complete);
        assert_eq!(is_complete(r###"let s = br#"x"#;"###), Complete);
        assert_eq!(is_complete(r###"let s = r#"a "  "###), incomplete(""));
        assert_eq!(is_complete(r###"let s = r##"a "# "###), incomplete(""));
    }

    #[test]
    fn raw_identifiers_are_not_strings() {
        assert_eq!(is_complete("let r#type = 1;"), Complete);
        assert_eq!(is_complete("let r#fn = (1"), incomplete("    "));
    }

    #[test]
    fn chars_and_lifetimes() {
        assert_eq!(is_complete("let c = '{';"), Complete);
        assert_eq!(is_complete(r"let c = '\'';"), Complete);
        assert_eq!(is_complete(r"let c = '\u{7B}';"), Complete);
        assert_eq!(is_complete("let c = b'(';"), Complete);
        assert_eq!(is_complete("fn f<'a>(x: &'a str) -> &'a str { x }"), Complete);
        assert_eq!(is_complete("let s: &'static str = \"}\";"), Complete);
        assert_eq!(is_complete("'outer: loop { break 'outer; }"), Complete);
        assert_eq!(is_complete("fn f<'a>(x: &'a str) {"), incomplete("    "));
        assert_eq!(is_complete("let c = '"), incomplete(""));
        assert_eq!(is_complete(r"let c = '\"), incomplete(""));
    }

    #[test]
    fn comments() {
        assert_eq!(is_complete("1 // {"), Complete);
        assert_eq!(is_complete("1 /* { */"), Complete);
        assert_eq!(is_complete("1 /* /* nested */ { */"), Complete);
        assert_eq!(is_complete("1 /* open"), incomplete(""));
        assert_eq!(is_complete("1 /* /* nested */ still open"), incomplete(""));
        assert_eq!(is_complete("{ // }\n"), incomplete("    "));
    }

    #[test]
    fn unicode_is_handled() {
        assert_eq!(is_complete("let s = \"héllo {\"; let é = 'ü';"), Complete);
        assert_eq!(is_complete("let ü = ("), incomplete("    "));
    }
}
