//! The Rust integration tests as one binary (as the regex crate does): one
//! link instead of one per file, which matters on two cores. Each file
//! beside this one is a module. Two keep their own binary:
//! `render_cache_off.rs` (it turns the process-wide render cache off) and
//! `scaling.rs` (its timings want a process to themselves).

mod common;

mod batch;
mod corpus;
mod deep_json;
mod fixtures;
mod grammar;
mod interop;
mod interop_properties;
mod parse_fixtures;
mod parse_properties;
mod parse_stream;
mod parse_vectors;
mod render_properties;
mod tokenizer_diff;
mod training;
mod vectors;
