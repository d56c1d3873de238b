//! A WordPiece tokenizer that reads a BERT `vocab.txt`: basic splitting, then greedy longest-match-first pieces.
//!
//! The basic step follows BERT's: drop control characters, put spaces around CJK
//! characters, lowercase, strip accents, split off every punctuation mark. Limits: accents
//! are stripped only from Latin-1 letters (no full Unicode NFD table), and "punctuation"
//! is ASCII punctuation plus the common Unicode punctuation blocks, not every character
//! of Unicode category P. Sentence pairs (token type ids) are not built here.

use std::collections::HashMap;
use std::path::Path;

use super::error::{DataError, DataResult};

/// Words longer than this become [UNK], as in BERT.
const MAX_CHARS_PER_WORD: usize = 100;

/// BERT's tokenizer over a vocabulary where a token's id is its 0-based line in `vocab.txt`.
#[derive(Debug, Clone)]
pub struct WordPiece {
    tokens: Vec<String>,
    ids: HashMap<String, usize>,
    /// Lowercase and strip accents (BERT "uncased"); true by default.
    pub lowercase: bool,
    pub pad_id: usize,
    pub unk_id: usize,
    pub cls_id: usize,
    pub sep_id: usize,
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
        Ok(WordPiece {
            pad_id: special("[PAD]")?,
            unk_id: special("[UNK]")?,
            cls_id: special("[CLS]")?,
            sep_id: special("[SEP]")?,
            tokens,
            ids,
            lowercase: true,
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

    /// Text to WordPiece tokens, e.g. "Unaffable!" -> `["un", "##aff", "##able", "!"]`.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for word in basic_tokenize(text, self.lowercase) {
            match self.split_word(&word) {
                Some(pieces) => out.extend(pieces),
                None => out.push("[UNK]".to_string()),
            }
        }
        out
    }

    /// Greedy longest-match-first; `None` when some part of the word matches nothing.
    fn split_word(&self, word: &str) -> Option<Vec<String>> {
        let chars: Vec<char> = word.chars().collect();
        if chars.len() > MAX_CHARS_PER_WORD {
            return None;
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let mut end = chars.len();
            let found = loop {
                if end == start {
                    break None;
                }
                let body: String = chars[start..end].iter().collect();
                let piece = if start > 0 { format!("##{body}") } else { body };
                if self.ids.contains_key(&piece) {
                    break Some(piece);
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
        let ids: Vec<usize> = self
            .tokenize(text)
            .iter()
            .map(|t| self.id(t).unwrap_or(self.unk_id))
            .collect();
        frame(&ids, max_len, self.cls_id, self.sep_id, self.pad_id)
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

/// BERT's basic tokenizer: cleaned, optionally lowercased words with punctuation split off.
pub fn basic_tokenize(text: &str, lowercase: bool) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let flush = |current: &mut String, words: &mut Vec<String>| {
        if !current.is_empty() {
            words.push(std::mem::take(current));
        }
    };
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || (c.is_control() && !c.is_whitespace()) {
            continue;
        }
        if c.is_whitespace() {
            flush(&mut current, &mut words);
        } else if is_punctuation(c) || is_cjk(c) {
            flush(&mut current, &mut words);
            words.push(c.to_string());
        } else if lowercase {
            for l in c.to_lowercase() {
                current.push(strip_accent(l));
            }
        } else {
            current.push(c);
        }
    }
    flush(&mut current, &mut words);
    words
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c,
            '¡' | '§' | '«' | '¶' | '·' | '»' | '¿'
            | '\u{2010}'..='\u{2027}'  // dashes, quotes, bullets, ellipsis
            | '\u{2030}'..='\u{205e}'  // per mille, primes, more quotes
            | '\u{3001}'..='\u{3003}'  // 、。〃
            | '\u{3008}'..='\u{3011}'  // CJK brackets 〈〉《》「」『』【】
            | '\u{3014}'..='\u{301f}'
            | '\u{ff01}'..='\u{ff0f}'  // fullwidth ！＂＃…／
            | '\u{ff1a}'..='\u{ff20}'
            | '\u{ff3b}'..='\u{ff40}'
            | '\u{ff5b}'..='\u{ff65}')
}

/// The CJK ideograph blocks BERT splits into single characters.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}'
        | '\u{3400}'..='\u{4dbf}'
        | '\u{20000}'..='\u{2a6df}'
        | '\u{2a700}'..='\u{2b73f}'
        | '\u{2b740}'..='\u{2b81f}'
        | '\u{2b820}'..='\u{2ceaf}'
        | '\u{f900}'..='\u{faff}'
        | '\u{2f800}'..='\u{2fa1f}')
}

/// Latin-1 accented lowercase letters to their base letter (what NFD + dropping marks gives).
fn strip_accent(c: char) -> char {
    match c {
        'à'..='å' => 'a',
        'ç' => 'c',
        'è'..='ë' => 'e',
        'ì'..='ï' => 'i',
        'ñ' => 'n',
        'ò'..='ö' => 'o',
        'ù'..='ü' => 'u',
        'ý' | 'ÿ' => 'y',
        _ => c,
    }
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
    }

    #[test]
    fn frame_truncates_and_pads() {
        assert_eq!(frame(&[7, 8, 9], 6, 2, 3, 0), vec![2, 7, 8, 9, 3, 0]);
        assert_eq!(frame(&[7, 8, 9], 4, 2, 3, 0), vec![2, 7, 8, 3]);
    }
}
