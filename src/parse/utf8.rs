//! Incremental UTF-8 decoding of streamed token bytes.
//!
//! A token can end in the middle of a multi-byte character (`🚀` is split
//! over two tokens). The decoder emits every complete character as soon as it
//! has it, holds back an incomplete trailing sequence until the next bytes
//! arrive, and replaces invalid sequences with U+FFFD exactly as
//! [`String::from_utf8_lossy`] would on the whole byte string.

/// Decodes a byte stream chunk by chunk.
#[derive(Debug, Clone, Default)]
pub(crate) struct Utf8Decoder {
    /// An incomplete sequence at the end of the bytes seen so far (at most 3 bytes).
    pending: Vec<u8>,
}

impl Utf8Decoder {
    /// Appends `bytes`, writing every complete character to `out`.
    pub(crate) fn push(&mut self, bytes: &[u8], out: &mut String) {
        if self.pending.is_empty() {
            decode_into(bytes, out, &mut self.pending);
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(bytes);
            decode_into(&joined, out, &mut self.pending);
        }
    }

    /// Ends the stream: an incomplete trailing sequence becomes U+FFFD.
    pub(crate) fn finish(&mut self, out: &mut String) {
        if !self.pending.is_empty() {
            self.pending.clear();
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// Decodes `bytes` lossily into `out`, keeping an incomplete tail in `pending`.
fn decode_into(mut bytes: &[u8], out: &mut String, pending: &mut Vec<u8>) {
    loop {
        match std::str::from_utf8(bytes) {
            Ok(text) => {
                out.push_str(text);
                return;
            }
            Err(e) => {
                let (valid, rest) = bytes.split_at(e.valid_up_to());
                // `valid` is valid UTF-8 by construction; the fallback is never taken.
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                match e.error_len() {
                    Some(len) => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        bytes = &rest[len..];
                    }
                    None => {
                        pending.extend_from_slice(rest);
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(chunks: &[&[u8]]) -> (Vec<String>, String) {
        let mut d = Utf8Decoder::default();
        let mut deltas = Vec::new();
        let mut all = String::new();
        for c in chunks {
            let mut s = String::new();
            d.push(c, &mut s);
            all.push_str(&s);
            deltas.push(s);
        }
        d.finish(&mut all);
        (deltas, all)
    }

    #[test]
    fn split_character_is_held_back() {
        let (deltas, all) = chunked(&[b" \xf0\x9f\x9a", b"\x80!"]);
        assert_eq!(deltas, [" ", "🚀!"]);
        assert_eq!(all, " 🚀!");
    }

    #[test]
    fn matches_lossy_decoding_for_every_split() {
        let samples: [&[u8]; 5] =
            [b"a\xf0\x9f\x9a\x80b", b"\xff\xfe", b"x\xf0\x9f\x41", b"\xe2\x82", "東京🙂é".as_bytes()];
        for s in samples {
            for cut in 0..=s.len() {
                let (_, all) = chunked(&[&s[..cut], &s[cut..]]);
                assert_eq!(all, String::from_utf8_lossy(s), "{s:?} cut at {cut}");
            }
            let bytes: Vec<&[u8]> = s.chunks(1).collect();
            assert_eq!(chunked(&bytes).1, String::from_utf8_lossy(s));
        }
    }
}
