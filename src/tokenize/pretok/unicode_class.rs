/*!
Unicode character classes as one byte of flags per scalar value, taken from
`regex-syntax`: the crate whose Unicode tables the reference regexes
(fancy-regex → regex) compile `\p{L}`, `\s` … with. A scanner that reads its
classes from here agrees with those regexes on every code point, including
ones a newer Unicode version assigns, by construction; tests still compare
the pieces.

Shared by `build.rs` (the built-in scanners' tables, embedded at build time)
and the DeepSeek scanner (whose table is built when a tokenizer.json asks for
it: from ranges it takes about a millisecond, where matching each class over
every scalar value took ~90 ms).
*/

use regex_syntax::hir::{Class, HirKind};

/// One byte per scalar value (0x110000 of them): for each `(bit, class)`, `bit` is set on every code
/// point the regex character class `class` matches (`\p{N}`, `[\p{L}\p{M}]`,
/// `[一-龥]` …).
///
/// # Panics
/// On a pattern that is not a single Unicode class (a programming error:
/// the patterns are constants).
pub fn class_bits(classes: &[(u8, &str)]) -> Vec<u8> {
    let mut bits = vec![0u8; 0x11_0000];
    for &(bit, pattern) in classes {
        let hir = regex_syntax::parse(pattern)
            .unwrap_or_else(|e| panic!("class pattern `{pattern}`: {e}"));
        let HirKind::Class(Class::Unicode(class)) = hir.kind() else {
            panic!("`{pattern}` is not a Unicode class");
        };
        for range in class.ranges() {
            for b in &mut bits[range.start() as usize..=range.end() as usize] {
                *b |= bit;
            }
        }
    }
    bits
}
