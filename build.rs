//! Build script: extracts the o200k vocabulary from the `tiktoken-rs` crate
//! into a compact binary table that `src/tokenizer/vocab.rs` embeds with
//! `include_bytes!`. Loading the encoding at run time then needs no network,
//! no environment variable and no file on disk, and no base64 parsing.
//!
//! Table layout (all integers little-endian u32):
//!   count, offsets[count + 1], bytes...
//! where token `r` is `bytes[offsets[r]..offsets[r + 1]]`.

use std::env;
use std::fs;
use std::path::PathBuf;

/// Number of ordinary (mergeable) tokens in o200k; ids 199998.. are special.
const N_ORDINARY: u32 = 199_998;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let bpe = tiktoken_rs::o200k_harmony().expect("tiktoken-rs o200k_harmony must load");

    let mut offsets: Vec<u32> = Vec::with_capacity(N_ORDINARY as usize + 1);
    let mut bytes: Vec<u8> = Vec::with_capacity(1_700_000);
    offsets.push(0);
    for rank in 0..N_ORDINARY {
        let piece = bpe.decode_bytes(&[rank]).unwrap_or_else(|_| panic!("o200k is missing ordinary token {rank}"));
        assert!(!piece.is_empty(), "token {rank} decodes to nothing");
        bytes.extend_from_slice(&piece);
        offsets.push(u32::try_from(bytes.len()).expect("vocabulary fits in u32"));
    }

    let mut blob = Vec::with_capacity(4 + offsets.len() * 4 + bytes.len());
    blob.extend_from_slice(&N_ORDINARY.to_le_bytes());
    for off in &offsets {
        blob.extend_from_slice(&off.to_le_bytes());
    }
    blob.extend_from_slice(&bytes);

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    fs::write(out.join("o200k_vocab.bin"), blob).expect("write vocabulary table");
}
