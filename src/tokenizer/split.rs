//! The o200k pre-tokenizer as a hand-written scanner.
//!
//! tiktoken splits text with this pattern before byte-pair merging:
//!
//! ```text
//! [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//! |[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?
//! |\p{N}{1,3}
//! | ?[^\s\p{L}\p{N}]+[\r\n/]*
//! |\s*[\r\n]+
//! |\s+(?!\S)
//! |\s+
//! ```
//!
//! A backtracking engine runs it (the look-ahead rules out a DFA), and that
//! was two thirds of encoding time. This module finds the same pieces
//! without backtracking: at each position it decides which alternative a
//! leftmost-first engine would take and where that match ends, in one
//! forward pass over the characters (a failed word alternative rescans at
//! most the run the next alternative then consumes, so the cost is linear).
//!
//! Every character starts a match of some alternative, so the pieces are
//! contiguous and cover the text. The character classes come from
//! `regex-syntax`'s Unicode tables (written by `build.rs`), the ones the
//! regex engines use; `tests/tokenizer_diff.rs` and the `tokenizer_diff`
//! fuzz target check the pieces against tiktoken-rs.

mod table {
    include!(concat!(env!("OUT_DIR"), "/o200k_classes.rs"));
}

/// `[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`: what may lead a word.
const UPPER: u8 = 1;
/// `[\p{Ll}\p{Lm}\p{Lo}\p{M}]`: what a word may end with.
const LOWER: u8 = 2;
/// `\p{L}`.
const LETTER: u8 = 4;
/// `\p{N}`.
const NUMBER: u8 = 8;
/// `\s` (Unicode White_Space).
const SPACE: u8 = 16;

/// The class bits of a code point.
fn class_of(cp: u32) -> u8 {
    let block = table::CLASS_INDEX.get((cp >> 7) as usize).copied().unwrap_or(0);
    table::CLASS_BLOCKS.get(((block as usize) << 7) | (cp & 127) as usize).copied().unwrap_or(0)
}

/// One character of the text: where the next one starts, its class bits,
/// and its code point.
#[derive(Clone, Copy)]
struct Char {
    next: usize,
    class: u8,
    cp: u32,
}

/// A scanner over one string.
pub(crate) struct Splitter<'a> {
    source: &'a str,
    text: &'a [u8],
    at: usize,
}

impl<'a> Splitter<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Splitter { source: text, text: text.as_bytes(), at: 0 }
    }

    /// The character starting at byte `i` (a character boundary), or `None`
    /// at the end.
    #[inline(always)]
    fn char_at(&self, i: usize) -> Option<Char> {
        let b0 = *self.text.get(i)?;
        if b0 < 0x80 {
            // Block 0 of the table is ASCII.
            return Some(Char { next: i + 1, class: table::CLASS_BLOCKS[b0 as usize], cp: u32::from(b0) });
        }
        // The text is a `str`: the sequence is valid UTF-8.
        let cont = |k: usize| u32::from(self.text.get(i + k).copied().unwrap_or(0x80) & 0x3f);
        let (cp, len) = if b0 < 0xe0 {
            ((u32::from(b0 & 0x1f) << 6) | cont(1), 2)
        } else if b0 < 0xf0 {
            ((u32::from(b0 & 0x0f) << 12) | (cont(1) << 6) | cont(2), 3)
        } else {
            ((u32::from(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3), 4)
        };
        Some(Char { next: i + len, class: class_of(cp), cp })
    }

    /// `[^\r\n\p{L}\p{N}]`: the optional first character of a word.
    fn is_prefix(c: Char) -> bool {
        c.class & (LETTER | NUMBER) == 0 && c.cp != u32::from(b'\r') && c.cp != u32::from(b'\n')
    }

    /// `[^\s\p{L}\p{N}]`: punctuation, symbols, marks.
    fn is_other(c: Char) -> bool {
        c.class & (SPACE | LETTER | NUMBER) == 0
    }

    /// The end of the longest run from `i` of characters having `bit`.
    fn run(&self, mut i: usize, bit: u8) -> usize {
        while let Some(c) = self.char_at(i) {
            if c.class & bit == 0 {
                break;
            }
            i = c.next;
        }
        i
    }

    /// Where the optional contraction `(?i:'s|'t|'re|'ve|'m|'ll|'d)` that may
    /// follow a word at `i` ends (`i` itself when there is none).
    fn contraction(&self, i: usize) -> usize {
        if self.text.get(i) != Some(&b'\'') {
            return i;
        }
        let lower = |k: usize| self.text.get(i + k).map(u8::to_ascii_lowercase);
        match lower(1) {
            Some(b's' | b't' | b'm' | b'd') => i + 2,
            Some(b'r' | b'v') if lower(2) == Some(b'e') => i + 3,
            Some(b'l') if lower(2) == Some(b'l') => i + 3,
            // U+017F LATIN SMALL LETTER LONG S folds to `s`.
            _ if self.text.get(i + 1..i + 3) == Some(&[0xc5, 0xbf]) => i + 3,
            _ => i,
        }
    }

    /// `[UPPER]*[LOWER]+` from `q`, as a backtracking engine matches it:
    /// the upper run gives characters back until one that may end a word
    /// follows, then the lower run is taken whole.
    fn upper_star_lower_plus(&self, q: usize) -> Option<usize> {
        let k_end = self.run(q, UPPER);
        let lower_from = match self.char_at(k_end) {
            Some(c) if c.class & LOWER != 0 => k_end,
            _ => {
                // Give back upper characters, last first, until one of them
                // is also LOWER (Lm, Lo, M are both).
                let mut i = k_end;
                loop {
                    if i == q {
                        return None;
                    }
                    i = self.prev_boundary(i);
                    let c = self.char_at(i)?;
                    if c.class & LOWER != 0 {
                        break i;
                    }
                }
            }
        };
        Some(self.run(lower_from, LOWER))
    }

    /// The start of the character that ends at `i` (`i > 0`).
    fn prev_boundary(&self, mut i: usize) -> usize {
        i = i.saturating_sub(1);
        while i > 0 && self.text.get(i).is_some_and(|b| b & 0xc0 == 0x80) {
            i -= 1;
        }
        i
    }

    /// `[UPPER]+[LOWER]*` from `q`.
    fn upper_plus_lower_star(&self, q: usize) -> Option<usize> {
        let c = self.char_at(q)?;
        if c.class & UPPER == 0 {
            return None;
        }
        let k_end = self.run(c.next, UPPER);
        Some(self.run(k_end, LOWER))
    }

    /// The end of the piece that starts at `p`, where `c0` starts.
    fn piece_end(&self, p: usize, c0: Char) -> usize {
        // Alternatives 1 and 2: a word, with an optional prefix character.
        let prefixed = Self::is_prefix(c0);
        if c0.class & (UPPER | LOWER) != 0 || prefixed {
            if prefixed {
                if let Some(e) = self.upper_star_lower_plus(c0.next) {
                    return self.contraction(e);
                }
            }
            if let Some(e) = self.upper_star_lower_plus(p) {
                return self.contraction(e);
            }
            if prefixed {
                if let Some(e) = self.upper_plus_lower_star(c0.next) {
                    return self.contraction(e);
                }
            }
            if let Some(e) = self.upper_plus_lower_star(p) {
                return self.contraction(e);
            }
        }
        // Alternative 3: one to three digits.
        if c0.class & NUMBER != 0 {
            let mut end = c0.next;
            for _ in 0..2 {
                match self.char_at(end) {
                    Some(c) if c.class & NUMBER != 0 => end = c.next,
                    _ => break,
                }
            }
            return end;
        }
        // Alternative 4: ` ?[^\s\p{L}\p{N}]+[\r\n/]*`.
        let other_from = if c0.cp == u32::from(b' ') {
            self.char_at(c0.next).filter(|&c| Self::is_other(c)).map(|_| c0.next)
        } else if Self::is_other(c0) {
            Some(p)
        } else {
            None
        };
        if let Some(q) = other_from {
            let mut end = q;
            while let Some(c) = self.char_at(end) {
                if !Self::is_other(c) {
                    break;
                }
                end = c.next;
            }
            while matches!(self.text.get(end), Some(b'\r' | b'\n' | b'/')) {
                end += 1;
            }
            return end;
        }
        // Alternatives 5 to 7: whitespace (c0 is whitespace here).
        let mut end = p;
        let mut last_start = p;
        let mut after_newline = None;
        while let Some(c) = self.char_at(end) {
            if c.class & SPACE == 0 {
                break;
            }
            if c.cp == u32::from(b'\r') || c.cp == u32::from(b'\n') {
                after_newline = Some(c.next);
            }
            last_start = end;
            end = c.next;
        }
        if let Some(e) = after_newline {
            // `\s*[\r\n]+`: up to the last line break of the run.
            return e;
        }
        if end == p {
            // Unreachable: every character matches some alternative. Keep
            // the text whole rather than loop.
            return c0.next;
        }
        if end == self.text.len() || last_start == p {
            // `\s+(?!\S)` at the end of the text, or a single space: `\s+`.
            return end;
        }
        // `\s+(?!\S)`: the run but its last character, which goes with the
        // word that follows.
        last_start
    }
}

impl<'a> Iterator for Splitter<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let p = self.at;
        let c0 = self.char_at(p)?;
        let end = self.piece_end(p, c0);
        self.at = end;
        // Pieces end on character boundaries; `get` keeps that a value.
        self.source.get(p..end)
    }
}
