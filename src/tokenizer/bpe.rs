//! Byte-pair merging of one pre-tokenized piece.
//!
//! The piece starts as single bytes; the adjacent pair with the lowest rank
//! is merged repeatedly until no adjacent pair is in the vocabulary. This is
//! the merge rule tiktoken defines, so the result is the same token sequence.

use super::vocab::Vocab;
use super::Rank;

const NONE: Rank = Rank::MAX;

/// Appends the tokens of `piece` to `out`.
pub(crate) fn encode_piece(vocab: &Vocab, piece: &[u8], out: &mut Vec<Rank>) {
    if piece.is_empty() {
        return;
    }
    if let Some(rank) = vocab.rank(piece) {
        out.push(rank);
        return;
    }
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
        let bytes = &piece[w[0].0..w[1].0];
        match vocab.rank(bytes) {
            Some(rank) => out.push(rank),
            // Unreachable for o200k (every byte is a token and merges only
            // produce tokens), but degrade to bytes rather than panic.
            None => out.extend(bytes.iter().map(|&b| vocab.byte_rank(b))),
        }
    }
}
