/*!
tokenaudit: an audit of AI token consumption.

The pipeline (see DESIGN.md), one module per stage:
discover → load → extract → count → aggregate (`tally`) → render (`report`).
[`audit::Audit`] runs it as a library call; `main.rs` is a thin CLI on top.
*/

pub mod audit;
pub mod calibrate;
pub mod cli;
pub mod commands;
pub mod content;
pub mod count;
pub mod count_api;
pub mod digest;
pub mod discover;
pub mod extract;
pub mod load;
pub mod pricing;
pub mod report;
pub mod script;
pub mod skip;
pub mod tally;
pub mod tokenize;
