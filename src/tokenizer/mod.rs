//! The `o200k_harmony` tokenizer: byte-pair encoding over the o200k
//! vocabulary plus the harmony special tokens.
//!
//! Encoding splits text into the pieces of the o200k pre-tokenizer pattern
//! (`split.rs`, a scanner that finds tiktoken's pieces without a regex
//! engine), then merges the bytes of each piece (`bpe.rs`). Special token texts such as `<|start|>` are
//! only turned into special tokens when the caller allows them; otherwise they
//! are ordinary text (or an error, with [`Tokenizer::encode_checked`]).

mod bpe;
mod special;
mod split;
mod table;
mod vocab;

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::error::{HarmonyError, Result};

pub use special::{FIRST_SPECIAL, LAST_SPECIAL};

/// A token id.
pub type Rank = u32;

/// A token id as a caller holds it, where any integer can arrive (Python):
/// a [`Rank`], or a number no `Rank` can hold (`-1`, `2**40`), kept as its
/// decimal text so that errors and diagnostics name it as it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenId {
    /// An id a `Rank` holds (it may still be outside the vocabulary).
    Rank(Rank),
    /// A number outside `0..2^32`, as decimal text.
    OutOfRange(String),
}

/// Which special tokens an `encode` call may produce, or must reject.
#[derive(Debug, Clone, Copy)]
pub enum SpecialTokenSet<'a> {
    /// Every special token.
    All,
    /// No special token.
    None,
    /// Exactly the special tokens with these texts.
    Only(&'a HashSet<String>),
}

impl SpecialTokenSet<'_> {
    fn contains(&self, name: &str) -> bool {
        match self {
            SpecialTokenSet::All => true,
            SpecialTokenSet::None => false,
            SpecialTokenSet::Only(set) => set.contains(name),
        }
    }
}

/// The `o200k_harmony` tokenizer. Immutable once built; share it freely
/// across threads.
pub struct Tokenizer {
    vocab: vocab::Vocab,
    specials: special::SpecialTokens,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer").field("name", &"o200k_harmony").field("n_vocab", &self.n_vocab()).finish()
    }
}

impl Tokenizer {
    /// Builds the tokenizer from the vocabulary embedded in the binary.
    pub fn o200k_harmony() -> Result<Tokenizer> {
        let vocab =
            vocab::Vocab::load().ok_or_else(|| HarmonyError::CorruptVocabulary("its ranks do not parse".into()))?;
        Ok(Tokenizer { vocab, specials: special::SpecialTokens::new() })
    }

    /// A process-wide shared instance, built on first use.
    pub fn shared() -> Result<&'static Tokenizer> {
        static SHARED: OnceLock<std::result::Result<Tokenizer, HarmonyError>> = OnceLock::new();
        SHARED.get_or_init(Tokenizer::o200k_harmony).as_ref().map_err(Clone::clone)
    }

    /// Number of token ids, ordinary and special (`LAST_SPECIAL + 1`).
    pub fn n_vocab(&self) -> usize {
        LAST_SPECIAL as usize + 1
    }

    /// Encodes `text` as ordinary text: special token texts are not special.
    pub fn encode_ordinary(&self, text: &str) -> Vec<Rank> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        self.encode_ordinary_into(text, &mut out);
        out
    }

    /// Like [`Tokenizer::encode_ordinary`], appending to `out`.
    pub fn encode_ordinary_into(&self, text: &str, out: &mut Vec<Rank>) {
        for piece in split::Splitter::new(text) {
            bpe::encode_piece(&self.vocab, piece.as_bytes(), out);
        }
    }

    /// The pieces the o200k pre-tokenizer splits `text` into before
    /// byte-pair merging: exactly the matches of tiktoken's o200k pattern.
    /// They are contiguous and cover the text.
    pub fn pre_tokenize<'a>(&self, text: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        split::Splitter::new(text)
    }

    /// Encodes `text`, turning the texts of `allowed` special tokens into
    /// those tokens; all other text (other special token texts included) is
    /// ordinary.
    pub fn encode(&self, text: &str, allowed: SpecialTokenSet<'_>) -> Vec<Rank> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        let mut start = 0;
        while let Some((s, e, rank)) = self.specials.find(text, start, |name, _| allowed.contains(name)) {
            self.encode_ordinary_into(&text[start..s], &mut out);
            out.push(rank);
            start = e;
        }
        self.encode_ordinary_into(&text[start..], &mut out);
        out
    }

    /// Encodes `text` with the tiktoken rules: texts of `allowed` special
    /// tokens become those tokens, and the text of any `disallowed` special
    /// token is an error. `SpecialTokenSet::All` as `disallowed` means every
    /// special token not in `allowed`.
    pub fn encode_checked(
        &self,
        text: &str,
        allowed: SpecialTokenSet<'_>,
        disallowed: SpecialTokenSet<'_>,
    ) -> Result<Vec<Rank>> {
        let rejected = self.specials.find(text, 0, |name, _| match disallowed {
            SpecialTokenSet::All => !allowed.contains(name),
            other => other.contains(name),
        });
        if let Some((s, e, _)) = rejected {
            return Err(HarmonyError::DisallowedSpecialToken(text[s..e].to_string()));
        }
        Ok(self.encode(text, allowed))
    }

    /// Encodes `text` with every special token text turned into its token.
    pub fn encode_with_special_tokens(&self, text: &str) -> Vec<Rank> {
        self.encode(text, SpecialTokenSet::All)
    }

    /// The bytes of one token, special tokens included.
    pub fn token_bytes(&self, token: Rank) -> Option<&[u8]> {
        self.vocab.bytes(token).or_else(|| self.specials.name(token).map(str::as_bytes))
    }

    /// Concatenated bytes of `tokens`; errors on an unknown id.
    pub fn decode_bytes(&self, tokens: &[Rank]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(tokens.len() * 4);
        for &t in tokens {
            out.extend_from_slice(self.token_bytes(t).ok_or(HarmonyError::InvalidToken(t))?);
        }
        Ok(out)
    }

    /// Like [`decode_bytes`](Self::decode_bytes) for ids as a caller holds
    /// them; the first unknown or out-of-range id is the error.
    pub fn decode_ids(&self, ids: &[TokenId]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(ids.len() * 4);
        for id in ids {
            let bytes = match id {
                TokenId::Rank(t) => self.token_bytes(*t).ok_or(HarmonyError::InvalidToken(*t))?,
                TokenId::OutOfRange(text) => return Err(HarmonyError::TokenOutOfRange(text.clone())),
            };
            out.extend_from_slice(bytes);
        }
        Ok(out)
    }

    /// Decodes `tokens` to a string; errors on an unknown id or on bytes
    /// that are not valid UTF-8.
    pub fn decode_utf8(&self, tokens: &[Rank]) -> Result<String> {
        let bytes = self.decode_bytes(tokens)?;
        String::from_utf8(bytes).map_err(|e| HarmonyError::InvalidUtf8(e.utf8_error()))
    }

    /// Decodes `tokens` to a string, replacing invalid UTF-8 with U+FFFD and
    /// skipping ids outside the vocabulary.
    pub fn decode_lossy(&self, tokens: &[Rank]) -> String {
        let mut bytes = Vec::with_capacity(tokens.len() * 4);
        for &t in tokens {
            bytes.extend_from_slice(self.token_bytes(t).unwrap_or_default());
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Whether `token` is in the special range (named or reserved).
    pub fn is_special_token(&self, token: Rank) -> bool {
        (FIRST_SPECIAL..=LAST_SPECIAL).contains(&token)
    }

    /// The id of the special token with this text, e.g. `<|start|>`.
    pub fn special_token(&self, name: &str) -> Option<Rank> {
        self.specials.rank(name)
    }

    /// The text of a special token id.
    pub fn special_token_name(&self, token: Rank) -> Option<&str> {
        self.specials.name(token)
    }

    /// All special tokens as (text, id), in id order.
    pub fn special_tokens(&self) -> impl Iterator<Item = (&str, Rank)> {
        self.specials.iter()
    }

    /// Number of ordinary (byte-pair) tokens.
    pub fn n_ordinary(&self) -> usize {
        self.vocab.len()
    }
}
