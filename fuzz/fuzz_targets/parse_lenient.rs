#![no_main]
//! Lenient mode: any token sequence gives messages, never an error or a panic.

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::check(data, false));
