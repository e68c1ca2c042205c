//! Incremental UTF-8 decoding of streamed content tokens.
//!
//! A token can end in the middle of a multi-byte character (`🚀` is split
//! over two tokens), so bytes wait in `pending` until they make characters.
//! The rules are the reference parser's, observable through
//! `last_content_delta`, so they are kept exactly:
//!
//! - each token's bytes are appended and the pending bytes are read once:
//!   valid text is emitted; an incomplete sequence at the end waits;
//! - at the first invalid sequence, the text before it and one U+FFFD are
//!   emitted and the invalid bytes dropped; the bytes after it wait for the
//!   next token (one repair per token);
//! - a token id outside the vocabulary poisons the rest of the message:
//!   nothing more is emitted;
//! - at the end of the message, a poisoned message gets one U+FFFD, then
//!   what waits is decoded lossily.
//!
//! Work per token is bounded by the token's bytes plus the bytes that wait,
//! and waiting bytes are consumed from the front without moving the rest.

/// Decodes one message's content, token by token.
#[derive(Debug, Clone, Default)]
pub(crate) struct Utf8Decoder {
    pending: Vec<u8>,
    /// Where the waiting bytes start in `pending` (consumed bytes before it).
    start: usize,
    /// An unknown token id was seen: the rest of the message is lost.
    poisoned: bool,
}

impl Utf8Decoder {
    /// Appends a token's bytes (`None`: an unknown id), writing what they
    /// complete to `out`.
    pub(crate) fn push(&mut self, bytes: Option<&[u8]>, out: &mut String) {
        if self.poisoned {
            return;
        }
        let Some(bytes) = bytes else {
            self.poisoned = true;
            return;
        };
        if self.start == self.pending.len() {
            self.pending.clear();
            self.start = 0;
        } else if self.start > self.pending.len() / 2 {
            self.pending.drain(..self.start);
            self.start = 0;
        }
        self.pending.extend_from_slice(bytes);
        let waiting = &self.pending[self.start..];
        match std::str::from_utf8(waiting) {
            Ok(text) => {
                out.push_str(text);
                self.start = self.pending.len();
            }
            Err(e) => {
                let valid = e.valid_up_to();
                // The prefix is valid UTF-8 by construction; the fallback is never taken.
                out.push_str(std::str::from_utf8(&waiting[..valid]).unwrap_or_default());
                match e.error_len() {
                    Some(len) => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        self.start += valid + len;
                    }
                    None => self.start += valid,
                }
            }
        }
    }

    /// Heap bytes held (the waiting bytes' buffer).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.pending.capacity()
    }

    /// Ends the message: a poisoned message gets its U+FFFD, then the
    /// waiting bytes are decoded lossily (in that order, as the reference).
    pub(crate) fn finish(&mut self, out: &mut String) {
        if self.poisoned {
            out.push(char::REPLACEMENT_CHARACTER);
        }
        out.push_str(&String::from_utf8_lossy(&self.pending[self.start..]));
        *self = Utf8Decoder::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(chunks: &[Option<&[u8]>]) -> (Vec<String>, String) {
        let mut d = Utf8Decoder::default();
        let mut deltas = Vec::new();
        let mut all = String::new();
        for c in chunks {
            let mut s = String::new();
            d.push(*c, &mut s);
            all.push_str(&s);
            deltas.push(s);
        }
        d.finish(&mut all);
        (deltas, all)
    }

    #[test]
    fn split_character_is_held_back() {
        let (deltas, all) = chunked(&[Some(b" \xf0\x9f\x9a"), Some(b"\x80!")]);
        assert_eq!(deltas, [" ", "🚀!"]);
        assert_eq!(all, " 🚀!");
    }

    #[test]
    fn one_repair_per_token_and_the_rest_waits() {
        // Observed in the reference: "a", F0, 9F, "b", 98, 80.
        let chunks: [Option<&[u8]>; 6] =
            [Some(b"a"), Some(b"\xf0"), Some(b"\x9f"), Some(b"b"), Some(b"\x98"), Some(b"\x80")];
        let (deltas, all) = chunked(&chunks);
        assert_eq!(deltas, ["a", "", "", "\u{fffd}", "b\u{fffd}", "\u{fffd}"]);
        assert_eq!(all, "a\u{fffd}b\u{fffd}\u{fffd}");
    }

    #[test]
    fn unknown_id_poisons_the_rest() {
        let (deltas, all) = chunked(&[Some(b"a"), Some(b"\xf0"), None, Some(b"b")]);
        assert_eq!(deltas, ["a", "", "", ""]);
        assert_eq!(all, "a\u{fffd}\u{fffd}");
        let (_, all) = chunked(&[Some(b"hello"), None, None]);
        assert_eq!(all, "hello\u{fffd}");
    }

    #[test]
    fn poison_comes_before_the_waiting_bytes() {
        // Observed in the reference: "é", E6, "Paris", an unknown id.
        let (deltas, all) = chunked(&[Some("é".as_bytes()), Some(b"\xe6"), Some(b"Paris"), None, Some(b"x")]);
        assert_eq!(deltas, ["é", "", "\u{fffd}", "", ""]);
        assert_eq!(all, "é\u{fffd}\u{fffd}Paris");
    }

    #[test]
    fn valid_text_in_any_split_is_the_text() {
        let s = "東京🙂é and more".as_bytes();
        for cut in 0..=s.len() {
            let (_, all) = chunked(&[Some(&s[..cut]), Some(&s[cut..])]);
            assert_eq!(all, "東京🙂é and more");
        }
        let bytes: Vec<Option<&[u8]>> = s.chunks(1).map(Some).collect();
        assert_eq!(chunked(&bytes).1, "東京🙂é and more");
    }

    #[test]
    fn many_stray_bytes_stay_linear() {
        // Each token brings two invalid bytes but one repair is made per token:
        // the waiting bytes grow, and are consumed from the front.
        let chunks: Vec<Option<&[u8]>> = (0..10_000).map(|_| Some(&b"\x80\x80"[..])).collect();
        let (deltas, all) = chunked(&chunks);
        assert!(deltas.iter().all(|d| d == "\u{fffd}"));
        assert_eq!(all.chars().count(), 20_000);
    }
}
