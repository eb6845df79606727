/*!
Where tokenizers come from: the named registry, the built-in OpenAI
encodings, rank files (tiktoken-style and Tekken), tokenizer.json files
(handed to `hf`), and the Hugging Face hub; and the listing of what is
installed. A source turns a name or a file into a [`SharedTokenizer`]; the
counting engines it builds on live in `bpe` and `hf`.

[`SharedTokenizer`]: crate::tokenize::SharedTokenizer
*/

pub mod builtin;
pub mod hub;
pub mod listing;
pub mod ranked;
pub mod registry;
pub mod startup;
pub mod tekken;
pub mod tiktoken_file;
