/*!
Which natural language a text is in, as *detected* by the `whatlang` crate
(trigram profiles of 69 languages, MIT): a statistical guess, not a fact,
so every report that shows it says "detected" and keeps how many of the
guesses whatlang itself calls reliable.

Only `--lang` asks for it (it costs a detection per piece of text). Like the
script of a piece (`script`), it is read from a sample: four 1 KiB windows
spread over a piece longer than 4 KiB, the whole piece otherwise.
*/

use whatlang::Lang;

/// How a piece whose language could not be detected (no letters, or too
/// little text) is reported: ISO 639-2's code for "undetermined".
pub const UNDETERMINED: &str = "und";

/// What the reports name as the detector.
pub const DETECTOR: &str =
    "whatlang 0.18, from a sample of each piece (a guess, not a declared language)";

/// Bytes per sampled window, and windows per piece.
const WINDOW: usize = 1024;
const WINDOWS: usize = 4;

/// A detection: the language's ISO 639-3 code and English name, and
/// whether whatlang deems it reliable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detected {
    pub code: &'static str,
    pub reliable: bool,
}

/// The detected language of `text`, from its sample; `None` when whatlang
/// detects none.
pub fn detect(text: &str) -> Option<Detected> {
    let info = if text.len() <= WINDOW * WINDOWS {
        whatlang::detect(text)?
    } else {
        let step = text.len() / WINDOWS;
        let mut sample = String::with_capacity(WINDOW * WINDOWS + WINDOWS);
        for w in 0..WINDOWS {
            let start = floor_boundary(text, w * step);
            let end = floor_boundary(text, w * step + WINDOW).max(start);
            sample.push_str(&text[start..end]);
            sample.push('\n');
        }
        whatlang::detect(&sample)?
    };
    Some(Detected {
        code: info.lang().code(),
        reliable: info.is_reliable(),
    })
}

/// The English name of a language by its ISO 639-3 code (`eng` →
/// `English`), or `undetermined`.
pub fn name(code: &str) -> &'static str {
    Lang::from_code(code).map_or("undetermined", |l| l.eng_name())
}

/// The largest char boundary at or before `i` (clamped to the text).
fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_are_detected_in_their_language() {
        let cases = [
            ("The supplier shall deliver the goods to the buyer within thirty days of the order.", "eng"),
            ("Le fournisseur livrera les marchandises à l'acheteur dans les trente jours suivant la commande.", "fra"),
            ("Der Lieferant liefert die Waren innerhalb von dreißig Tagen nach der Bestellung an den Käufer.", "deu"),
            ("Мы были рады узнать, что этот вопрос уже решён. Поставщик доставит товар покупателю в течение тридцати дней после заказа, и это очень важно для нас.", "rus"),
            ("当事人双方同意，供应商应当在收到订单后三十日内向买方交付全部货物。", "cmn"),
        ];
        for (text, code) in cases {
            let d = detect(text).unwrap();
            assert_eq!(d.code, code, "{text}");
        }
        assert_eq!(name("fra"), "French");
        assert_eq!(name(UNDETERMINED), "undetermined");
        assert!(detect("12 + 34 = 46").is_none_or(|d| !d.reliable));
    }

    #[test]
    fn a_long_text_is_detected_from_its_windows() {
        let text =
            "Il était une fois une petite fille qui vivait au bord de la forêt. ".repeat(500);
        assert!(text.len() > WINDOW * WINDOWS);
        assert_eq!(detect(&text).unwrap().code, "fra");
    }
}
