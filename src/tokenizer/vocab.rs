//! The embedded o200k vocabulary.
//!
//! `build.rs` writes the ordinary tokens of `tiktoken-rs`'s `o200k_harmony`
//! into a flat table (see the layout there); this module reads it straight
//! from the binary. Nothing is downloaded, read from disk or base64-decoded.

use rustc_hash::FxHashMap;

use super::table::WordTable;
use super::Rank;

static TABLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_vocab.bin"));

/// The ordinary (byte-pair) vocabulary: token bytes to rank and back.
///
/// Looking ranks up is most of the tokenizer's time, so the map is split by
/// length: tables indexed by the bytes for one and two bytes; for 3 to 16
/// bytes, one map per length keyed by the bytes read as one or two words
/// (hashed and compared without touching the token table); longer tokens
/// keyed by their bytes.
pub(crate) struct Vocab {
    /// Token bytes by rank; every slice borrows the embedded table.
    by_rank: Vec<&'static [u8]>,
    /// Rank of the tokens of 3 to 8 bytes, by `word` and length.
    small: WordTable,
    /// `mid[n - 9]`: rank of the tokens of n bytes, 9 <= n <= 16, by `words`.
    mid: Vec<FxHashMap<(u64, u64), Rank>>,
    /// Rank of tokens of more than 16 bytes.
    long: FxHashMap<&'static [u8], Rank>,
    /// Rank of each two-byte token, by `b0 << 8 | b1` (`Rank::MAX`: none).
    pairs: Vec<Rank>,
    /// Rank of each single byte (all 256 bytes are tokens in o200k).
    byte_rank: [Rank; 256],
}

/// 3 to 8 bytes as one word: for 4 and more, the first four and the last
/// four (overlapping), which with the length determine the bytes.
#[inline(always)]
fn word(p: &[u8]) -> u64 {
    let n = p.len();
    if n >= 4 {
        let a = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
        let b = u32::from_le_bytes([p[n - 4], p[n - 3], p[n - 2], p[n - 1]]);
        u64::from(a) | (u64::from(b) << 32)
    } else {
        p.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }
}

/// 9 to 16 bytes as two words: the first eight and the last eight.
#[inline(always)]
fn words(p: &[u8]) -> (u64, u64) {
    let n = p.len();
    let at =
        |i: usize| u64::from_le_bytes([p[i], p[i + 1], p[i + 2], p[i + 3], p[i + 4], p[i + 5], p[i + 6], p[i + 7]]);
    (at(0), at(n - 8))
}

fn read_u32(at: usize) -> Option<u32> {
    let b = TABLE.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

impl Vocab {
    /// Reads the embedded table. Returns `None` only if the table written by
    /// `build.rs` is corrupt, which the test suite rules out.
    pub(crate) fn load() -> Option<Vocab> {
        let count = read_u32(0)? as usize;
        let data_start = 4 + (count + 1) * 4;
        let data = TABLE.get(data_start..)?;
        let mut by_rank = Vec::with_capacity(count);
        // Size the tables from the lengths first: no rehashing while loading.
        let mut per_len = [0usize; 17];
        for rank in 0..count {
            let len = read_u32(4 + (rank + 1) * 4)?.checked_sub(read_u32(4 + rank * 4)?)? as usize;
            if let Some(n) = per_len.get_mut(len) {
                *n += 1;
            }
        }
        let mut small = WordTable::with_capacity(per_len[3..=8].iter().sum());
        let mut mid: Vec<FxHashMap<(u64, u64), Rank>> =
            per_len[9..=16].iter().map(|&n| FxHashMap::with_capacity_and_hasher(n, Default::default())).collect();
        let mut long = FxHashMap::default();
        let mut pairs = vec![Rank::MAX; 1 << 16];
        let mut byte_rank = [Rank::MAX; 256];
        let mut start = read_u32(4)? as usize;
        for rank in 0..count {
            let end = read_u32(4 + (rank + 1) * 4)? as usize;
            let piece: &'static [u8] = data.get(start..end)?;
            let rank = Rank::try_from(rank).ok()?;
            match piece {
                [] => return None,
                [b] => byte_rank[usize::from(*b)] = rank,
                [b0, b1] => pairs[usize::from(*b0) << 8 | usize::from(*b1)] = rank,
                _ if piece.len() <= 8 => {
                    small.insert(word(piece), piece.len(), rank);
                }
                _ if piece.len() <= 16 => {
                    mid.get_mut(piece.len() - 9)?.insert(words(piece), rank);
                }
                _ => {
                    long.insert(piece, rank);
                }
            }
            by_rank.push(piece);
            start = end;
        }
        if byte_rank.contains(&Rank::MAX) {
            return None;
        }
        Some(Vocab { by_rank, small, mid, long, pairs, byte_rank })
    }

    /// Number of ordinary tokens; they have the ranks `0..len()`.
    pub(crate) fn len(&self) -> usize {
        self.by_rank.len()
    }

    #[inline]
    pub(crate) fn rank(&self, piece: &[u8]) -> Option<Rank> {
        let n = piece.len();
        let rank = match piece {
            [] => return None,
            [b] => self.byte_rank[usize::from(*b)],
            [b0, b1] => self.pair_rank(*b0, *b1),
            _ if n <= 8 => return self.small.get(word(piece), n),
            _ if n <= 16 => return self.mid.get(n - 9)?.get(&words(piece)).copied(),
            _ => return self.long.get(piece).copied(),
        };
        (rank != Rank::MAX).then_some(rank)
    }

    /// The rank of the two-byte token `b0 b1`, `Rank::MAX` when there is none.
    #[inline]
    pub(crate) fn pair_rank(&self, b0: u8, b1: u8) -> Rank {
        self.pairs.get(usize::from(b0) << 8 | usize::from(b1)).copied().unwrap_or(Rank::MAX)
    }

    pub(crate) fn byte_rank(&self, byte: u8) -> Rank {
        self.byte_rank[usize::from(byte)]
    }

    pub(crate) fn bytes(&self, rank: Rank) -> Option<&'static [u8]> {
        self.by_rank.get(rank as usize).copied()
    }
}
