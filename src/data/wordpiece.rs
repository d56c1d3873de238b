//! BERT's WordPiece tokenizer, reading a `vocab.txt`, with the same splits as Hugging Face's
//! `BertTokenizer` (the fast one, from the `tokenizers` library):
//!
//! 1. **Special tokens** written in the text (`[CLS]`, `[SEP]`, `[MASK]`, `[PAD]`, `[UNK]`) are
//!    recognised as they are, before anything else touches the text.
//! 2. **Cleaning**: NUL, U+FFFD and every character of Unicode category C (control, format,
//!    private use, unassigned) except tab, newline and carriage return are dropped.
//! 3. **CJK ideographs** get spaces around them, so each one is a word of its own.
//! 4. **Lower-casing** (uncased models): accents are stripped by full canonical decomposition
//!    (NFD) and dropping the non-spacing marks (category Mn), then every character is
//!    lower-cased. Both are on for uncased vocabularies and follow `tokenizer_config.json`.
//! 5. **Splitting** on whitespace, and every punctuation character (ASCII punctuation or
//!    Unicode category P) becomes a word of its own.
//! 6. **WordPiece**: each word is cut greedily into the longest pieces of the vocabulary, the
//!    pieces after the first carrying `##`; a word with a part that matches nothing, or longer
//!    than 100 characters, is one `[UNK]`.
//!
//! The Unicode categories come from the `unicode_categories` crate, the tables `tokenizers`
//! itself uses (so a character that is unassigned in them, such as a recent emoji, is dropped
//! by both), and NFD from `unicode-normalization`.
//!
//! [`WordPiece::encode_text`] and [`WordPiece::encode_pair`] add `[CLS]`/`[SEP]` and the token
//! type ids, and truncate to a maximum length the way `transformers` does ("longest first" for
//! pairs); [`WordPiece::encode_batch`] pads a batch to its longest member with an attention mask
//! that comes from the padding itself.
//!
//! ```ignore
//! let wp = WordPiece::from_vocab_file("vocab.txt")?; // all-MiniLM-L6-v2's (bert-base-uncased's)
//! assert_eq!(wp.tokenize("Unaffable café!"), ["una", "##ffa", "##ble", "cafe", "!"]);
//! let enc = wp.encode_pair("How old are you?", "I'm 6.", 128);
//! // enc.ids: [CLS] how old are you ? [SEP] i ' m 6 . [SEP]; enc.type_ids: 0 … 0 1 … 1
//! ```

use std::collections::HashMap;
use std::path::Path;

use unicode_categories::UnicodeCategories;
use unicode_normalization::UnicodeNormalization;

use super::error::{DataError, DataResult};

/// Words longer than this (in characters) become [UNK], as in BERT.
const MAX_CHARS_PER_WORD: usize = 100;

/// Token ids of one text or text pair: `[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, unpadded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Encoding {
    pub ids: Vec<usize>,
    /// 0 for `[CLS] a [SEP]`, 1 for `b [SEP]` (segment ids).
    pub type_ids: Vec<usize>,
}

impl Encoding {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Encodings padded to the longest of a batch, row-major `(batch, steps)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BatchEncoding {
    pub ids: Vec<usize>,
    pub type_ids: Vec<usize>,
    /// 1 for a real token, 0 for padding.
    pub attention_mask: Vec<usize>,
    pub batch: usize,
    pub steps: usize,
}

impl BatchEncoding {
    /// Pads `encodings` with `pad_id` to the longest one (at least one step).
    pub fn pad(encodings: &[Encoding], pad_id: usize) -> BatchEncoding {
        let steps = encodings.iter().map(Encoding::len).max().unwrap_or(0).max(1);
        let batch = encodings.len();
        let mut out = BatchEncoding {
            ids: vec![pad_id; batch * steps],
            type_ids: vec![0; batch * steps],
            attention_mask: vec![0; batch * steps],
            batch,
            steps,
        };
        for (row, e) in encodings.iter().enumerate() {
            let at = row * steps;
            out.ids[at..at + e.len()].copy_from_slice(&e.ids);
            out.type_ids[at..at + e.len()].copy_from_slice(&e.type_ids);
            out.attention_mask[at..at + e.len()].fill(1);
        }
        out
    }

    /// Row `i`'s ids without its padding.
    pub fn row(&self, i: usize) -> &[usize] {
        let at = i * self.steps;
        let n = self.attention_mask[at..at + self.steps].iter().sum::<usize>();
        &self.ids[at..at + n]
    }
}

/// BERT's tokenizer over a vocabulary where a token's id is its 0-based line in `vocab.txt`.
#[derive(Debug, Clone)]
pub struct WordPiece {
    tokens: Vec<String>,
    ids: HashMap<String, usize>,
    /// Lower-case (BERT "uncased"); true by default.
    pub lowercase: bool,
    /// Strip accents; `None` follows `lowercase`, as in `transformers`.
    pub strip_accents: Option<bool>,
    /// Put CJK ideographs in words of their own; true by default.
    pub split_cjk: bool,
    pub pad_id: usize,
    pub unk_id: usize,
    pub cls_id: usize,
    pub sep_id: usize,
    /// Tokens recognised as written in the text, longest first.
    specials: Vec<(String, usize)>,
}

impl WordPiece {
    /// Reads a `vocab.txt`: one token per line, `##` marking pieces that continue a word.
    pub fn from_vocab_file(path: impl AsRef<Path>) -> DataResult<WordPiece> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| DataError::io(&name, e))?;
        WordPiece::from_vocab_str(&name, &text)
    }

    /// Builds from vocabulary text; `name` stands for the file in error messages.
    pub fn from_vocab_str(name: &str, text: &str) -> DataResult<WordPiece> {
        let tokens: Vec<String> = text
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect();
        let mut ids = HashMap::with_capacity(tokens.len());
        for (i, t) in tokens.iter().enumerate() {
            // A repeated line keeps its last id, as BERT's own vocabulary loader does.
            ids.insert(t.clone(), i);
        }
        let special = |t: &str| {
            ids.get(t)
                .copied()
                .ok_or_else(|| DataError::file(name, format!("the vocabulary has no {t} token")))
        };
        let (pad_id, unk_id, cls_id, sep_id) = (
            special("[PAD]")?,
            special("[UNK]")?,
            special("[CLS]")?,
            special("[SEP]")?,
        );
        let mut specials: Vec<(String, usize)> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
            .iter()
            .filter_map(|t| ids.get(*t).map(|&id| (t.to_string(), id)))
            .collect();
        specials.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Ok(WordPiece {
            pad_id,
            unk_id,
            cls_id,
            sep_id,
            specials,
            tokens,
            ids,
            lowercase: true,
            strip_accents: None,
            split_cjk: true,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    pub fn id(&self, token: &str) -> Option<usize> {
        self.ids.get(token).copied()
    }

    pub fn token(&self, id: usize) -> Option<&str> {
        self.tokens.get(id).map(String::as_str)
    }

    /// The vocabulary in id order (the lines of `vocab.txt`).
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Text to WordPiece tokens, e.g. "Unaffable!" -> `["un", "##aff", "##able", "!"]`.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        self.token_ids(text)
            .into_iter()
            .map(|id| self.tokens[id].clone())
            .collect()
    }

    /// Text to token ids, without `[CLS]`/`[SEP]`.
    pub fn token_ids(&self, text: &str) -> Vec<usize> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            // The next special token written in the text, leftmost (then longest).
            let next = rest.char_indices().find_map(|(at, _)| {
                let tail = &rest[at..];
                self.specials
                    .iter()
                    .find(|(t, _)| tail.starts_with(t.as_str()))
                    .map(|(t, id)| (at, t.len(), *id))
            });
            let (plain, special) = match next {
                Some((at, len, id)) => (&rest[..at], Some((at + len, id))),
                None => (rest, None),
            };
            self.plain_ids(plain, &mut out);
            match special {
                Some((end, id)) => {
                    out.push(id);
                    rest = &rest[end..];
                }
                None => break,
            }
        }
        out
    }

    /// Ids of text with no special tokens in it: normalise, split into words, cut into pieces.
    fn plain_ids(&self, text: &str, out: &mut Vec<usize>) {
        let strip = self.strip_accents.unwrap_or(self.lowercase);
        for word in basic_tokenize_with(text, self.lowercase, strip, self.split_cjk) {
            match self.split_word(&word) {
                Some(pieces) => out.extend(pieces),
                None => out.push(self.unk_id),
            }
        }
    }

    /// Greedy longest-match-first; `None` when some part of the word matches nothing.
    fn split_word(&self, word: &str) -> Option<Vec<usize>> {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_CHARS_PER_WORD {
            return None;
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        let mut piece = String::new();
        while start < chars.len() {
            let mut end = chars.len();
            let found = loop {
                if end == start {
                    break None;
                }
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                piece.extend(&chars[start..end]);
                if let Some(&id) = self.ids.get(&piece) {
                    break Some(id);
                }
                end -= 1;
            };
            pieces.push(found?);
            start = end;
        }
        Some(pieces)
    }

    /// `[CLS] tokens [SEP]` as ids, cut to `max_len` (keeping [SEP]) and padded with [PAD].
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<usize> {
        let ids = self.token_ids(text);
        frame(&ids, max_len, self.cls_id, self.sep_id, self.pad_id)
    }

    /// `[CLS] text [SEP]`, the text's tokens cut so that the whole is at most `max_len` (≥ 2).
    pub fn encode_text(&self, text: &str, max_len: usize) -> Encoding {
        let mut ids = self.token_ids(text);
        ids.truncate(max_len.saturating_sub(2));
        let mut out = Vec::with_capacity(ids.len() + 2);
        out.push(self.cls_id);
        out.extend(ids);
        out.push(self.sep_id);
        Encoding {
            type_ids: vec![0; out.len()],
            ids: out,
        }
    }

    /// `[CLS] a [SEP] b [SEP]` with type ids 0 then 1, at most `max_len` (≥ 3) long. Too long a
    /// pair is cut "longest first" as `transformers` does: the shorter text keeps its length when
    /// the longer can make room alone, otherwise both get half of the room.
    pub fn encode_pair(&self, a: &str, b: &str, max_len: usize) -> Encoding {
        let mut a = self.token_ids(a);
        let mut b = self.token_ids(b);
        let room = max_len.saturating_sub(3);
        if a.len() + b.len() > room {
            let short = a.len().min(b.len());
            let (mut keep_short, mut keep_long) = if short > room {
                (short, short)
            } else {
                (short, short.max(room - short))
            };
            if keep_short + keep_long > room {
                keep_short = room / 2;
                keep_long = keep_short + room % 2;
            }
            if a.len() > b.len() {
                a.truncate(keep_long);
                b.truncate(keep_short);
            } else {
                a.truncate(keep_short);
                b.truncate(keep_long);
            }
        }
        let mut ids = Vec::with_capacity(a.len() + b.len() + 3);
        ids.push(self.cls_id);
        ids.extend(&a);
        ids.push(self.sep_id);
        let first = ids.len();
        ids.extend(&b);
        ids.push(self.sep_id);
        let mut type_ids = vec![0; first];
        type_ids.resize(ids.len(), 1);
        Encoding { ids, type_ids }
    }

    /// Each text as [`WordPiece::encode_text`], padded to the longest with an attention mask.
    pub fn encode_batch<S: AsRef<str>>(&self, texts: &[S], max_len: usize) -> BatchEncoding {
        let encodings: Vec<Encoding> = texts
            .iter()
            .map(|t| self.encode_text(t.as_ref(), max_len))
            .collect();
        BatchEncoding::pad(&encodings, self.pad_id)
    }

    /// A labelled text set as token ids for training, each text `[CLS] … [SEP]` padded or cut
    /// to `max_len` (see [`WordPiece::encode`]).
    pub fn encode_set(&self, set: &super::TextSet, max_len: usize) -> super::TokenSet {
        let ids = set.texts.iter().flat_map(|t| self.encode(t, max_len)).collect();
        super::TokenSet::new(ids, max_len, set.labels.clone(), set.classes.clone())
            .expect("one row of max_len ids per label")
    }

    /// Ids back to text: special tokens dropped, `##` pieces glued to the piece before.
    pub fn decode(&self, ids: &[usize]) -> String {
        let mut out = String::new();
        for &id in ids {
            if [self.pad_id, self.cls_id, self.sep_id].contains(&id) {
                continue;
            }
            let token = self.token(id).unwrap_or("[UNK]");
            match token.strip_prefix("##") {
                Some(rest) => out.push_str(rest),
                None => {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(token);
                }
            }
        }
        out
    }
}

/// Wraps ids as `[CLS] ids [SEP]`, truncated to `max_len` and padded; shared with the word tokenizer.
pub(crate) fn frame(ids: &[usize], max_len: usize, cls: usize, sep: usize, pad: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(max_len);
    out.push(cls);
    out.extend(ids.iter().take(max_len.saturating_sub(2)));
    out.push(sep);
    out.truncate(max_len);
    out.resize(max_len, pad);
    out
}

/// BERT's basic tokenizer (steps 2–5 of the module doc): cleaned words with punctuation split
/// off; `lowercase` also strips accents.
pub fn basic_tokenize(text: &str, lowercase: bool) -> Vec<String> {
    basic_tokenize_with(text, lowercase, lowercase, true)
}

fn basic_tokenize_with(text: &str, lowercase: bool, strip_accents: bool, split_cjk: bool) -> Vec<String> {
    // Cleaning and CJK spacing, character by character.
    let mut clean = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if split_cjk && is_cjk(c) {
            clean.push(' ');
            clean.push(c);
            clean.push(' ');
        } else if is_whitespace(c) {
            clean.push(' ');
        } else {
            clean.push(c);
        }
    }
    // Accents go before lower-casing, in that order (`tokenizers` does the same; the old Python
    // tokenizer lower-cased first and differs on a few letters such as 'İ').
    let clean: String = if strip_accents {
        clean.nfd().filter(|c| !c.is_mark_nonspacing()).collect()
    } else {
        clean
    };
    let clean: String = if lowercase {
        clean.chars().flat_map(char::to_lowercase).collect()
    } else {
        clean
    };
    let mut words = Vec::new();
    for chunk in clean.split(char::is_whitespace) {
        let mut current = String::new();
        for c in chunk.chars() {
            if is_punctuation(c) {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                words.push(c.to_string());
            } else {
                current.push(c);
            }
        }
        if !current.is_empty() {
            words.push(current);
        }
    }
    words
}

/// Tab, newline and carriage return count as whitespace, not control characters.
fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

/// Unicode category C (Cc, Cf, Cs, Co, Cn), except tab, newline and carriage return.
fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && c.is_other()
}

/// ASCII punctuation (which includes `$`, `+`, `<`, `^`, `` ` ``…) or Unicode category P.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation() || c.is_punctuation()
}

/// The CJK ideograph blocks BERT splits into single characters (the ranges of `tokenizers`).
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{20000}'..='\u{2a6df}'
        | '\u{2a700}'..='\u{2b73f}'
        | '\u{2b740}'..='\u{2b81f}'
        | '\u{2b920}'..='\u{2ceaf}'
        | '\u{f900}'..='\u{faff}'
        | '\u{2f800}'..='\u{2fa1f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_tokenizer_splits_punctuation_cjk_and_lowercases() {
        assert_eq!(
            basic_tokenize("Hello,  WORLD!\tCafé's", true),
            vec!["hello", ",", "world", "!", "cafe", "'", "s"]
        );
        assert_eq!(basic_tokenize("我爱AI。", true), vec!["我", "爱", "ai", "。"]);
        assert_eq!(basic_tokenize("Keep Case", false), vec!["Keep", "Case"]);
        // Full NFD, not a Latin-1 table; control characters vanish without splitting.
        assert_eq!(
            basic_tokenize("Ångström ŞĞ a\u{b}b", true),
            vec!["angstrom", "sg", "ab"]
        );
        // Unicode punctuation beyond the common blocks, e.g. the Armenian full stop.
        assert_eq!(basic_tokenize("a\u{589}b", true), vec!["a", "\u{589}", "b"]);
    }

    #[test]
    fn frame_truncates_and_pads() {
        assert_eq!(frame(&[7, 8, 9], 6, 2, 3, 0), vec![2, 7, 8, 9, 3, 0]);
        assert_eq!(frame(&[7, 8, 9], 4, 2, 3, 0), vec![2, 7, 8, 3]);
    }

    const VOCAB: &str = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\nc\n##b\n##c\n";

    #[test]
    fn special_tokens_in_the_text_are_kept_whole() {
        let wp = WordPiece::from_vocab_str("v", VOCAB).unwrap();
        assert_eq!(wp.token_ids("a [MASK]bc[SEP]"), vec![5, 4, 6, 9, 3]);
        // Lower-cased text is not matched: "[mask]" is punctuation and an unknown word.
        assert_eq!(wp.token_ids("[mask]"), vec![1, 1, 1]);
    }

    #[test]
    fn pairs_are_cut_longest_first() {
        let wp = WordPiece::from_vocab_str("v", VOCAB).unwrap();
        let e = wp.encode_pair("a a a a a a", "b b", 8);
        assert_eq!(e.ids, vec![2, 5, 5, 5, 3, 6, 6, 3]);
        assert_eq!(e.type_ids, vec![0, 0, 0, 0, 0, 1, 1, 1]);
        let e = wp.encode_pair("a a a a a", "b b b b b b", 8);
        assert_eq!(e.ids, vec![2, 5, 5, 3, 6, 6, 6, 3]);
        let batch = wp.encode_batch(&["a", "a b c"], 16);
        assert_eq!((batch.batch, batch.steps), (2, 5));
        assert_eq!(batch.attention_mask, vec![1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
        assert_eq!(batch.row(0), &[2, 5, 3]);
    }
}
