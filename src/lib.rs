/*!
tokenaudit: an audit of AI token consumption.

The pipeline (see DESIGN.md): discover → load → extract → count → aggregate →
price → render. Each stage is a module with one job.
*/

pub mod pricing;
pub mod tokenize;
