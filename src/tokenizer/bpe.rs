//! Byte-pair merging of one pre-tokenized piece.
//!
//! The piece starts as single bytes; the adjacent pair with the lowest rank
//! is merged repeatedly (the leftmost one among equal ranks) until no
//! adjacent pair is in the vocabulary. This is the merge rule tiktoken
//! defines, so the result is the same token sequence.
//!
//! Short pieces (nearly all of them) scan their pairs for the lowest rank
//! at each step, which is quadratic but fastest for a handful of parts.
//! Long pieces (a run of one letter, a long hex string, base64) keep their
//! pending pairs in buckets by rank instead (`encode_long`): the same
//! merges in the same order, in O(n log n) at worst and close to linear on
//! real text.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::vocab::Vocab;
use super::Rank;

const NONE: Rank = Rank::MAX;

/// Pieces at least this long take the heap path.
const HEAP_FROM: usize = 96;

/// Appends the tokens of `piece` to `out`.
pub(crate) fn encode_piece(vocab: &Vocab, piece: &[u8], out: &mut Vec<Rank>) {
    if piece.is_empty() {
        return;
    }
    if let Some(rank) = vocab.rank(piece) {
        out.push(rank);
        return;
    }
    if piece.len() >= HEAP_FROM {
        encode_long(vocab, piece, out);
    } else {
        encode_short(vocab, piece, out);
    }
}

/// The token of `bytes`, or its bytes one by one. Merges only produce
/// tokens and every byte is a token, so the fallback never runs for o200k;
/// it keeps the text rather than panic.
fn push_part(vocab: &Vocab, bytes: &[u8], out: &mut Vec<Rank>) {
    match vocab.rank(bytes) {
        Some(rank) => out.push(rank),
        None => out.extend(bytes.iter().map(|&b| vocab.byte_rank(b))),
    }
}

fn encode_short(vocab: &Vocab, piece: &[u8], out: &mut Vec<Rank>) {
    // `parts[i].0` is where part i starts; `parts[i].1` is the rank of the
    // merge of part i with part i + 1 (NONE when that is not a token). The
    // last two entries are sentinels so that `parts[i + 2]` always exists.
    let n = piece.len();
    let mut parts: Vec<(usize, Rank)> = Vec::with_capacity(n + 1);
    for i in 0..n.saturating_sub(1) {
        parts.push((i, vocab.rank(&piece[i..i + 2]).unwrap_or(NONE)));
    }
    parts.push((n.saturating_sub(1), NONE));
    parts.push((n, NONE));

    // Rank of the merge of parts i and i + 1 once the pair at i has merged,
    // i.e. of the bytes from parts[i] to parts[i + 3].
    let pair_rank = |parts: &[(usize, Rank)], i: usize| -> Rank {
        match parts.get(i + 3) {
            Some(&(end, _)) => vocab.rank(&piece[parts[i].0..end]).unwrap_or(NONE),
            None => NONE,
        }
    };

    loop {
        let mut best = (NONE, 0);
        for (i, &(_, rank)) in parts[..parts.len() - 1].iter().enumerate() {
            if rank < best.0 {
                best = (rank, i);
            }
        }
        if best.0 == NONE {
            break;
        }
        let i = best.1;
        if i > 0 {
            parts[i - 1].1 = pair_rank(&parts, i - 1);
        }
        parts[i].1 = pair_rank(&parts, i);
        parts.remove(i + 1);
    }

    for w in parts.windows(2) {
        push_part(vocab, &piece[w[0].0..w[1].0], out);
    }
}

/// The long path. Parts form a linked list indexed by their first byte,
/// so an index is also a position and orders equal ranks leftmost first.
///
/// Pending pairs wait in buckets by rank, taken in increasing rank order:
/// a bucket is a list of positions, sorted (once, when it comes up) unless
/// its pairs arrived left to right, as they nearly always do. A merge at
/// rank `r` creates pairs of other ranks; one of rank `r` or lower (rare:
/// a token whose bytes have a cheaper split) must be merged before the rest
/// of the bucket, so those wait in a small heap beside it, ordered by
/// (rank, position). An entry is stale once its part is gone or its pair
/// rank changed; stale entries are skipped.
fn encode_long(vocab: &Vocab, piece: &[u8], out: &mut Vec<Rank>) {
    let n = piece.len();
    let mut parts = Parts::new(vocab, piece);
    let mut queue = Buckets::default();
    for i in 0..n {
        if parts.rank[i] != NONE {
            queue.push(parts.rank[i], i as u32);
        }
    }
    // Pairs of rank <= the current bucket's, created while it is merged.
    let mut low: BinaryHeap<Reverse<u64>> = BinaryHeap::new();
    let key = |r: Rank, i: u32| Reverse((u64::from(r) << 32) | u64::from(i));
    let mut created: [(Rank, u32); 2] = [(NONE, 0); 2];

    while let Some((r, positions)) = queue.pop() {
        let mut cursor = 0;
        loop {
            // The next merge: the lower of the bucket's next entry and the
            // low heap's top.
            let from_bucket = positions.get(cursor).map(|&i| (u64::from(r) << 32) | u64::from(i));
            let from_low = low.peek().map(|&Reverse(k)| k);
            let k = match (from_bucket, from_low) {
                (Some(b), Some(l)) if l < b => {
                    low.pop();
                    l
                }
                (Some(b), _) => {
                    cursor += 1;
                    b
                }
                (None, Some(l)) => {
                    low.pop();
                    l
                }
                (None, None) => break,
            };
            let (kr, i) = ((k >> 32) as Rank, (k & 0xffff_ffff) as u32);
            if !parts.merge(kr, i, &mut created) {
                continue;
            }
            for &(cr, ci) in &created {
                if cr == NONE {
                    continue;
                }
                if cr <= r {
                    low.push(key(cr, ci));
                } else {
                    queue.push(cr, ci);
                }
            }
        }
        queue.recycle(positions);
    }
    parts.emit(out);
}

/// The parts of a long piece as a linked list.
struct Parts<'a> {
    vocab: &'a Vocab,
    piece: &'a [u8],
    /// `next[i]`: the start of the part after the part at `i` (the piece's
    /// length for the last part); 0 once the part is merged away (no live
    /// part but the first starts at 0, and its next is never 0).
    next: Vec<u32>,
    /// `prev[i]`: the start of the part before the part at `i`.
    prev: Vec<u32>,
    /// `rank[i]`: the rank of the merge of the part at `i` with the next.
    rank: Vec<Rank>,
}

impl<'a> Parts<'a> {
    fn new(vocab: &'a Vocab, piece: &'a [u8]) -> Self {
        let n = piece.len() as u32;
        let mut rank: Vec<Rank> = piece.windows(2).map(|w| vocab.pair_rank(w[0], w[1])).collect();
        rank.push(NONE);
        Parts { vocab, piece, next: (1..=n).collect(), prev: (0..n).map(|i| i.wrapping_sub(1)).collect(), rank }
    }

    /// The rank of the merge of the part at `i` with the one after it.
    fn pair_rank(&self, i: usize) -> Rank {
        let j = self.next[i] as usize;
        match self.next.get(j) {
            Some(&end) => self.vocab.rank(&self.piece[i..end as usize]).unwrap_or(NONE),
            None => NONE,
        }
    }

    /// Merges the part at `i` with the next if their pair still has rank
    /// `r`; `created` gets the two pairs it makes (rank NONE: none).
    fn merge(&mut self, r: Rank, i: u32, created: &mut [(Rank, u32); 2]) -> bool {
        let iu = i as usize;
        if self.rank[iu] != r || self.next[iu] == 0 {
            return false;
        }
        let j = self.next[iu] as usize;
        let after = self.next[j];
        self.next[iu] = after;
        self.next[j] = 0;
        self.rank[j] = NONE;
        if let Some(p) = self.prev.get_mut(after as usize) {
            *p = i;
        }
        self.rank[iu] = self.pair_rank(iu);
        created[0] = (self.rank[iu], i);
        created[1] = (NONE, 0);
        if iu > 0 {
            let p = self.prev[iu];
            self.rank[p as usize] = self.pair_rank(p as usize);
            created[1] = (self.rank[p as usize], p);
        }
        true
    }

    fn emit(&self, out: &mut Vec<Rank>) {
        let mut i = 0;
        while i < self.piece.len() {
            let j = self.next[i] as usize;
            push_part(self.vocab, &self.piece[i..j], out);
            i = j;
        }
    }
}

/// Pending pairs by rank: the lists of positions, and the ranks that have
/// one in a min-heap.
struct Buckets {
    /// Rank to index in `lists`.
    index: rustc_hash::FxHashMap<Rank, usize>,
    /// Positions of each bucket, and whether they arrived in order.
    lists: Vec<(Vec<u32>, bool)>,
    /// Free position lists, reused.
    spare: Vec<Vec<u32>>,
    /// Indices in `lists` free for reuse.
    free: Vec<usize>,
    ranks: BinaryHeap<Reverse<Rank>>,
    /// A direct-mapped cache of `index` (pushes come in runs of few ranks).
    recent: [(Rank, usize); 16],
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets {
            index: Default::default(),
            lists: Vec::new(),
            spare: Vec::new(),
            free: Vec::new(),
            ranks: BinaryHeap::new(),
            recent: [(NONE, 0); 16],
        }
    }
}

impl Buckets {
    fn push(&mut self, rank: Rank, at: u32) {
        let hint = (rank & 15) as usize;
        let cached = match self.recent[hint] {
            (r, slot) if r == rank => Some(slot),
            _ => self.index.get(&rank).copied(),
        };
        let slot = match cached {
            Some(slot) => slot,
            None => {
                let list = self.spare.pop().unwrap_or_default();
                let slot = match self.free.pop() {
                    Some(slot) => {
                        self.lists[slot] = (list, true);
                        slot
                    }
                    None => {
                        self.lists.push((list, true));
                        self.lists.len() - 1
                    }
                };
                self.index.insert(rank, slot);
                self.ranks.push(Reverse(rank));
                slot
            }
        };
        self.recent[hint] = (rank, slot);
        let (list, sorted) = &mut self.lists[slot];
        if list.last().is_some_and(|&last| last > at) {
            *sorted = false;
        }
        list.push(at);
    }

    /// The lowest-ranked bucket, its positions in order.
    fn pop(&mut self) -> Option<(Rank, Vec<u32>)> {
        let Reverse(rank) = self.ranks.pop()?;
        let slot = self.index.remove(&rank)?;
        self.free.push(slot);
        if self.recent[(rank & 15) as usize].0 == rank {
            self.recent[(rank & 15) as usize] = (NONE, 0);
        }
        let (mut list, sorted) = std::mem::take(&mut self.lists[slot]);
        if !sorted {
            list.sort_unstable();
        }
        Some((rank, list))
    }

    fn recycle(&mut self, mut list: Vec<u32>) {
        list.clear();
        self.spare.push(list);
    }
}
