//! Every integration test in one binary.
//!
//! Each file under `tests/` used to be a test binary of its own, each
//! compiling and linking the library and its dependencies (the `tokenizers`
//! crate among them) again, and each loading the tokenizer files again.
//! Measured on the 2-core machine (BENCHMARKS.md, "The test suite"): one
//! binary builds and runs faster. A new test file goes here as a module.

mod common;

mod bad_input;
mod calibrate;
mod chat_formats;
mod check;
mod chunking;
mod cli;
mod compare;
mod compiled_cache;
mod count_api;
mod document_accuracy;
mod documents;
mod estimates;
mod exact_builtin;
mod fields;
mod focus;
mod hf_engine;
mod html;
mod hub;
mod layers;
mod llama3_hf;
mod long_pieces;
mod named_exact;
mod named_tokenizers;
mod parquet;
mod pricing;
mod reports;
mod shards;
mod transcript_costs;
mod transcripts;
