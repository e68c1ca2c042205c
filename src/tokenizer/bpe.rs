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
//! pairs in a binary heap instead, ordered by (rank, position): the same
//! merges in the same order, in O(n log n).

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

/// The heap path. Parts form a linked list indexed by their first byte, so
/// an index is also a position and orders ties leftmost first. A heap entry
/// (rank, i) is stale once part i is gone or its pair rank changed; stale
/// entries are skipped when they surface.
fn encode_long(vocab: &Vocab, piece: &[u8], out: &mut Vec<Rank>) {
    let n = piece.len();
    // `next[i]`: the start of the part after part i (n for the last part);
    // `prev[i]`: the start of the part before it; `rank[i]`: the rank of
    // the merge of part i with the next one; a merged-away part gets
    // `next[i] == 0` (no live part but the first starts at 0, and its next
    // is never 0).
    let mut next: Vec<u32> = (1..=n as u32).collect();
    let mut prev: Vec<u32> = (0..n as u32).map(|i| i.wrapping_sub(1)).collect();
    let mut rank: Vec<Rank> = Vec::with_capacity(n);
    for i in 0..n {
        rank.push(piece.get(i..i + 2).and_then(|pair| vocab.rank(pair)).unwrap_or(NONE));
    }
    let key = |r: Rank, i: usize| Reverse((u64::from(r) << 32) | i as u64);
    let mut heap: BinaryHeap<Reverse<u64>> =
        rank.iter().enumerate().filter(|&(_, &r)| r != NONE).map(|(i, &r)| key(r, i)).collect();

    // The rank of the merge of the part at `i` with the one after it.
    let pair_rank = |next: &[u32], i: usize| -> Rank {
        let j = next[i] as usize;
        if j >= n {
            return NONE;
        }
        vocab.rank(&piece[i..next[j] as usize]).unwrap_or(NONE)
    };

    while let Some(Reverse(k)) = heap.pop() {
        let (r, i) = ((k >> 32) as Rank, (k & 0xffff_ffff) as usize);
        if rank[i] != r || (next[i] == 0) {
            continue;
        }
        // Merge part i with the part j after it.
        let j = next[i] as usize;
        let after = next[j];
        next[i] = after;
        next[j] = 0;
        rank[j] = NONE;
        if (after as usize) < n {
            prev[after as usize] = i as u32;
        }
        rank[i] = pair_rank(&next, i);
        if rank[i] != NONE {
            heap.push(key(rank[i], i));
        }
        if i > 0 {
            let p = prev[i] as usize;
            rank[p] = pair_rank(&next, p);
            if rank[p] != NONE {
                heap.push(key(rank[p], p));
            }
        }
    }

    let mut i = 0;
    while i < n {
        let j = next[i] as usize;
        push_part(vocab, &piece[i..j], out);
        i = j;
    }
}
