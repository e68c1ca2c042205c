//! The embedded o200k vocabulary.
//!
//! `build.rs` writes the ordinary tokens of `tiktoken-rs`'s `o200k_harmony`
//! into a flat table (see the layout there); this module reads it straight
//! from the binary. Nothing is downloaded, read from disk or base64-decoded.

use rustc_hash::FxHashMap;

use super::Rank;

static TABLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_vocab.bin"));

/// The ordinary (byte-pair) vocabulary: token bytes to rank and back.
pub(crate) struct Vocab {
    /// Token bytes by rank; every slice borrows the embedded table.
    by_rank: Vec<&'static [u8]>,
    /// Rank by token bytes.
    by_bytes: FxHashMap<&'static [u8], Rank>,
    /// Rank of each single byte (all 256 bytes are tokens in o200k).
    byte_rank: [Rank; 256],
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
        let mut by_bytes = FxHashMap::with_capacity_and_hasher(count, Default::default());
        let mut byte_rank = [Rank::MAX; 256];
        let mut start = read_u32(4)? as usize;
        for rank in 0..count {
            let end = read_u32(4 + (rank + 1) * 4)? as usize;
            let piece: &'static [u8] = data.get(start..end)?;
            let rank = Rank::try_from(rank).ok()?;
            if let [b] = piece {
                byte_rank[usize::from(*b)] = rank;
            }
            by_rank.push(piece);
            by_bytes.insert(piece, rank);
            start = end;
        }
        if byte_rank.contains(&Rank::MAX) {
            return None;
        }
        Some(Vocab { by_rank, by_bytes, byte_rank })
    }

    /// Number of ordinary tokens; they have the ranks `0..len()`.
    pub(crate) fn len(&self) -> usize {
        self.by_rank.len()
    }

    pub(crate) fn rank(&self, piece: &[u8]) -> Option<Rank> {
        self.by_bytes.get(piece).copied()
    }

    pub(crate) fn byte_rank(&self, byte: u8) -> Rank {
        self.byte_rank[usize::from(byte)]
    }

    pub(crate) fn bytes(&self, rank: Rank) -> Option<&'static [u8]> {
        self.by_rank.get(rank as usize).copied()
    }
}
