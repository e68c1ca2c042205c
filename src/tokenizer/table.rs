//! An open-addressing table from short tokens (3 to 8 bytes, read as one
//! word) to their ranks, laid out so that a lookup touches one cache line:
//! each slot holds the word, and the rank with the length, side by side
//! (a general hash map keeps its control bytes and its entries apart, two
//! cache misses per lookup, and lookups are most of encoding time).

use super::Rank;

/// A slot: the word's two halves, and `rank | len << 24` (`EMPTY`: free).
type Slot = [u32; 3];

const EMPTY: u32 = u32::MAX;

pub(crate) struct WordTable {
    slots: Vec<Slot>,
    mask: usize,
}

#[inline(always)]
fn index(word: u64, len: usize, mask: usize) -> usize {
    // Fibonacci hashing of the word mixed with its length.
    let h = (word ^ ((len as u64) << 59)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((h >> 32) as usize ^ (h as usize)) & mask
}

impl WordTable {
    /// A table for `n` tokens, at most three quarters full (o200k's 3-8
    /// byte tokens fill 2^18 slots to about 0.65).
    pub(crate) fn with_capacity(n: usize) -> Self {
        let size = (n * 4 / 3 + 1).next_power_of_two().max(16);
        WordTable { slots: vec![[0, 0, EMPTY]; size], mask: size - 1 }
    }

    /// Adds a token; `len` is 3 to 8 and `rank` below 2^24.
    pub(crate) fn insert(&mut self, word: u64, len: usize, rank: Rank) {
        let tag = rank | ((len as u32) << 24);
        let mut i = index(word, len, self.mask);
        loop {
            let slot = &mut self.slots[i];
            if slot[2] == EMPTY {
                *slot = [word as u32, (word >> 32) as u32, tag];
                return;
            }
            i = (i + 1) & self.mask;
        }
    }

    #[inline]
    pub(crate) fn get(&self, word: u64, len: usize) -> Option<Rank> {
        let (lo, hi, len) = (word as u32, (word >> 32) as u32, len as u32);
        let mut i = index(word, len as usize, self.mask);
        loop {
            let slot = self.slots.get(i)?;
            if slot[2] == EMPTY {
                return None;
            }
            if slot[0] == lo && slot[1] == hi && slot[2] >> 24 == len {
                return Some(slot[2] & 0x00ff_ffff);
            }
            i = (i + 1) & self.mask;
        }
    }
}
