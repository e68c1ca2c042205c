#![no_main]
//! Strict mode: any token sequence gives messages or an error, never a panic.

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::check(data, true));
