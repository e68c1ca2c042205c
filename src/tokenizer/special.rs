//! The special tokens of `o200k_harmony` and finding them in text.
//!
//! Ids 199998..=201088 are special. Nine of them have names used by the
//! harmony format; every other id in the range is `<|reserved_N|>`.

use rustc_hash::FxHashMap;

use super::Rank;

/// First special token id.
pub const FIRST_SPECIAL: Rank = 199_998;
/// Last special token id (inclusive).
pub const LAST_SPECIAL: Rank = 201_088;

const NAMED: [(Rank, &str); 9] = [
    (199_998, "<|startoftext|>"),
    (199_999, "<|endoftext|>"),
    (200_002, "<|return|>"),
    (200_003, "<|constrain|>"),
    (200_005, "<|channel|>"),
    (200_006, "<|start|>"),
    (200_007, "<|end|>"),
    (200_008, "<|message|>"),
    (200_012, "<|call|>"),
];

/// Longest special token text, in bytes (`<|reserved_200000|>`).
const MAX_SPECIAL_LEN: usize = 19;

pub(crate) struct SpecialTokens {
    /// Text of token `FIRST_SPECIAL + i`.
    names: Vec<String>,
    by_name: FxHashMap<String, Rank>,
}

impl SpecialTokens {
    pub(crate) fn new() -> SpecialTokens {
        let names: Vec<String> = (FIRST_SPECIAL..=LAST_SPECIAL)
            .map(|id| match NAMED.iter().find(|(r, _)| *r == id) {
                Some((_, name)) => (*name).to_string(),
                None => format!("<|reserved_{id}|>"),
            })
            .collect();
        let by_name = names.iter().zip(FIRST_SPECIAL..).map(|(n, id)| (n.clone(), id)).collect();
        SpecialTokens { names, by_name }
    }

    pub(crate) fn rank(&self, name: &str) -> Option<Rank> {
        self.by_name.get(name).copied()
    }

    pub(crate) fn name(&self, rank: Rank) -> Option<&str> {
        let i = rank.checked_sub(FIRST_SPECIAL)?;
        self.names.get(i as usize).map(String::as_str)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, Rank)> {
        self.names.iter().map(String::as_str).zip(FIRST_SPECIAL..)
    }

    /// Finds the leftmost special token text in `text` at or after byte
    /// `from` for which `accept` holds. Returns (start, end, rank).
    ///
    /// Special token texts all look like `<|...|>` and none contains `|>`
    /// before its end, so a candidate is the text from a `<|` to the first
    /// `|>` after it, at most `MAX_SPECIAL_LEN` bytes long.
    pub(crate) fn find(
        &self,
        text: &str,
        from: usize,
        mut accept: impl FnMut(&str, Rank) -> bool,
    ) -> Option<(usize, usize, Rank)> {
        let bytes = text.as_bytes();
        let mut pos = from;
        while let Some(off) = text.get(pos..).and_then(|rest| rest.find("<|")) {
            let start = pos + off;
            let window_end = (start + MAX_SPECIAL_LEN).min(bytes.len());
            if let Some(close) = bytes[start + 2..window_end].windows(2).position(|w| w == b"|>") {
                let end = start + 2 + close + 2;
                // `<|` and `|>` are ASCII, so both ends are char boundaries.
                if let Some(candidate) = text.get(start..end) {
                    if let Some(rank) = self.rank(candidate) {
                        if accept(candidate, rank) {
                            return Some((start, end, rank));
                        }
                    }
                }
            }
            pos = start + 1;
        }
        None
    }
}
