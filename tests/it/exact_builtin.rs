//! The engine against the reference: for every built-in encoding, our ids
//! and counts must equal tiktoken-rs `encode_ordinary`, token for token, on
//! real multilingual prose, code, JSON and adversarial text.

use std::sync::OnceLock;

use proptest::prelude::*;
use tokenaudit::tokenize::sources::builtin::{self, Reference};
use tokenaudit::tokenize::Tokenizer;

const ENCODINGS: [&str; 4] = ["o200k_base", "cl100k_base", "p50k_base", "r50k_base"];

struct Pair {
    engine: tokenaudit::tokenize::bpe::BpeTokenizer,
    reference: Reference,
}

fn pairs() -> &'static [Pair] {
    static PAIRS: OnceLock<Vec<Pair>> = OnceLock::new();
    PAIRS.get_or_init(|| {
        ENCODINGS
            .iter()
            .map(|name| Pair {
                engine: builtin::engine(name).unwrap(),
                reference: Reference::new(name).unwrap(),
            })
            .collect()
    })
}

/// Ids and count equal the reference for every encoding.
fn assert_exact(text: &str) {
    for pair in pairs() {
        let name = &pair.engine.info().name;
        let expected = pair.reference.encode(text);
        let ids = pair.engine.encode(text);
        if ids != expected {
            let shown: String = text.chars().take(200).collect();
            panic!("{name}: ids differ on {shown:?}\n engine: {ids:?}\n ref:    {expected:?}");
        }
        let count = pair.engine.counter().count(text);
        assert_eq!(count, expected.len() as u64, "{name}: count on {text:?}");
    }
}

const PROSE: &[&str] = &[
    // English
    "The committee met on Tuesday to review the budget. Nobody expected the \
     discussion to last four hours, but it's what happened: they'd argued \
     over every line, and we'll probably do it again next year.",
    // German
    "Die Straßenbahn fährt heute nicht, weil die Oberleitung über der \
     Brücke beschädigt wurde. Fahrgäste müssen auf Ersatzbusse ausweichen.",
    // French
    "L'été dernier, nous sommes allés à la montagne ; c'était magnifique, \
     même s'il a plu presque tous les jours. Qu'en pensez-vous ?",
    // Russian
    "Вчера вечером мы долго гуляли по набережной и разговаривали о том, \
     как быстро меняется город. Завтра обещают снег.",
    // Arabic
    "ذهبت إلى السوق صباح اليوم واشتريت الخبز والفواكه، ثم عدت إلى البيت \
     لأكمل قراءة الكتاب الذي بدأته الأسبوع الماضي.",
    // Persian
    "امروز هوا بسیار سرد بود و ما تصمیم گرفتیم در خانه بمانیم و چای بنوشیم.\u{200c}می‌خواهیم فردا به کتابخانه برویم.",
    // Chinese
    "今天下午我们在图书馆讨论了项目的进展情况。大家都认为下个月之前可以完成第一阶段的工作，但是测试还需要更多时间。",
    // Japanese
    "昨日は雨が降っていたので、家で本を読みました。今日は晴れているので、公園へ散歩に行くつもりです。カタカナのテキストも混ぜます。",
    // Korean
    "오늘 아침에 친구와 함께 커피를 마시면서 다음 주 여행 계획에 대해 이야기했습니다. 날씨가 좋으면 좋겠어요.",
    // Hindi
    "कल शाम हम लोग बाज़ार गए और वहाँ से कुछ किताबें और फल ख़रीदे। आज मौसम बहुत सुहावना है।",
];

const CODE: &str = r#"
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("usage: {} <path>", args[0]);
        std::process::exit(2);
    }
    // Count lines, skipping blank ones.
    let text = std::fs::read_to_string(&args[1])?;
    let n = text.lines().filter(|l| !l.trim().is_empty()).count();
    println!("{n}");
    Ok(())
}

def fib(n: int) -> int:
    """Return the n-th Fibonacci number."""
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
"#;

const JSON: &str = r#"{"id":"chatcmpl-9x8Y7z","object":"chat.completion","created":1718035200,"model":"gpt-4o-2024-05-13","choices":[{"index":0,"message":{"role":"assistant","content":"Sure! Here's the list:\n\n1. Apples\n2. Pears\r\n3. Plums"},"finish_reason":"stop"}],"usage":{"prompt_tokens":52,"completion_tokens":17,"total_tokens":69},"data":"aGVsbG8gd29ybGQhIFRoaXMgaXMgYmFzZTY0IGVuY29kZWQgdGV4dC4=","nested":{"a":[1,2.5,-3e10,null,true,false],"b":"\u00e9\u4e2d"}}"#;

#[test]
fn multilingual_prose() {
    for text in PROSE {
        assert_exact(text);
    }
    assert_exact(&PROSE.join("\n\n"));
}

#[test]
fn code_and_json() {
    assert_exact(CODE);
    assert_exact(JSON);
    assert_exact(&format!("{JSON}\n{CODE}\n{JSON}"));
}

#[test]
fn adversarial() {
    let cases = [
        String::new(),
        " ".into(),
        "\n".into(),
        "  \n".into(),
        "\r\n\r\n  \n".into(),
        "a\r\nb\rc\n\rd \r\n e".into(),
        " ".repeat(1000),
        "\n".repeat(500),
        "\t \n".repeat(300),
        format!("x{}y", " ".repeat(777)),
        format!("{}end", "\r\n ".repeat(200)),
        "👨‍👩‍👧‍👦👩🏽‍💻🏳️‍🌈 🙂🙂🙂".into(),
        "e\u{301}e\u{301}e\u{301} \u{301}\u{301} a\u{308}\u{304}".into(),
        "0 12 123 1234 12345 ١٢٣٤٥٦ ½ 1,000,000.00".into(),
        "'s 'S 't 'T 're 'RE 've 'Ve 'm 'M 'll 'LL 'lL 'd 'D 'ſ 'x ''s".into(),
        "DON'T don't Don'T I'M we'RE they'VE she'LL he'D it'S".into(),
        "<|endoftext|> hello <|endoftext|><|fim_prefix|>".into(),
        "\u{0}\u{1}\u{2}\u{7}\u{8}\u{b}\u{c}\u{1b}[0m\u{7f}\u{85}\u{a0}\u{2028}\u{2029}\u{feff}"
            .into(),
        "path/to/some/file.rs:12:34 // comment\n/* block */ https://example.com/a?b=c&d=e#f".into(),
        "=".repeat(3000),
        "-=".repeat(2000),
        "ab".repeat(3000),
        "🙂".repeat(2000),
        "中".repeat(3000),
        "Ǆǅǆ ʰʲ ᾈᾉ Ⅻ ⅻ".into(),
    ];
    for text in &cases {
        assert_exact(text);
    }
}

#[test]
fn long_runs_of_one_character_match_the_reference() {
    // tiktoken-rs 0.12.1 is slow on these (and slower in a debug build):
    // 30k characters is the most the suite affords.
    for c in ["a", "A", " ", "!", "1", "\u{301}", "🙂", "é"] {
        assert_exact(&c.repeat(30_000));
    }
}

#[test]
fn sha256_is_the_official_files() {
    let expected = [
        (
            "cl100k_base",
            "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        ),
        (
            "o200k_base",
            "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        ),
        (
            "p50k_base",
            "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
        ),
        (
            "r50k_base",
            "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
        ),
    ];
    for (name, sha) in expected {
        let t = tokenaudit::tokenize::sources::builtin::resolve(name).unwrap();
        assert_eq!(t.info().sha256, sha, "{name}");
    }
}

#[test]
fn vocab_sizes_and_gaps() {
    for (name, size) in [
        ("o200k_base", 199_998),
        ("cl100k_base", 100_256),
        ("p50k_base", 50_280),
        ("r50k_base", 50_256),
    ] {
        let ranks = builtin::ranks(name).unwrap();
        assert_eq!(ranks.len(), size, "{name}");
        // Every byte is a token: merges start from single bytes.
        for b in 0..=255u8 {
            assert!(ranks.get(&[b]).is_some(), "{name}: byte {b}");
        }
    }
}

#[test]
fn counter_is_reusable_and_cache_does_not_leak_between_texts() {
    let t = builtin::engine("cl100k_base").unwrap();
    let r = Reference::new("cl100k_base").unwrap();
    let mut c = t.counter();
    for text in PROSE.iter().chain([&CODE, &JSON]).cycle().take(40) {
        assert_eq!(c.count(text), r.encode(text).len() as u64);
    }
}

const ALPHABET: &[char] = &[
    ' ', '\n', '\r', '\t', 'a', 'A', '1', '\'', 's', '/', '🙂', '\u{301}', '中', '\u{a0}', 'L',
    'l', 'e', 'ſ', '.',
];

fn tricky() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(ALPHABET), 0..60)
        .prop_map(|cs| cs.into_iter().collect())
}

/// Letters that run together into long pieces (no space between them):
/// Han, kana, Hangul, Thai, Devanagari with its marks, Cyrillic, accented
/// Latin, a combining mark, an emoji, a digit. Long pieces are cut where no
/// token can lie across (`bpe::cut`), and each part is counted on its own.
const RUN_LETTERS: &[char] = &[
    '中', '文', '的', '一', '是', '了', '人', '我', '国', '語', 'の', 'に', 'は', 'ン', 'ト', 'ー',
    'ก', 'า', 'ร', '่', 'น', '한', '국', '어', 'ह', 'ि', 'न', '्', 'я', 'з', 'ы', 'é', 'ß', 'a', 'e',
    '\u{301}', '🙂', '7',
];

fn long_runs() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(RUN_LETTERS), 20..160)
        .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn long_letter_runs_count_exactly(text in long_runs()) {
        assert_exact(&text);
    }

    #[test]
    fn tricky_strings_count_exactly(text in tricky()) {
        assert_exact(&text);
    }

    #[test]
    fn arbitrary_strings_count_exactly(text in "\\PC{0,60}") {
        assert_exact(&text);
    }

    #[test]
    fn arbitrary_ascii_count_exactly(text in "[ -~\\n\\r\\t]{0,80}") {
        assert_exact(&text);
    }
}

#[test]
fn vocabulary_tokens_as_text() {
    // Every long token (a piece that is itself a token must count 1 without
    // merging, also past the piece cache's key size) and a sample of the
    // rest, each as its own text.
    for pair in pairs() {
        let name = &pair.engine.info().name;
        let ranks = builtin::ranks(name).unwrap();
        let mut counter = pair.engine.counter();
        for rank in 0..ranks.rank_bound() as u32 {
            let Some(bytes) = ranks.token_bytes(rank) else {
                continue;
            };
            if bytes.len() <= 32 && rank % 97 != 0 {
                continue;
            }
            let Ok(text) = std::str::from_utf8(bytes) else {
                continue;
            };
            let expected = pair.reference.encode(text);
            assert_eq!(pair.engine.encode(text), expected, "{name}: {text:?}");
            assert_eq!(
                counter.count(text),
                expected.len() as u64,
                "{name}: {text:?}"
            );
        }
    }
}

#[test]
fn tiktoken_text_round_trip_reproduces_the_builtin_table() {
    // What another vocabulary file goes through: `.tiktoken` text → Ranks.
    // Written from the embedded table, it must read back to the same table
    // and hash to the official file's sha256.
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    let builtin = builtin::ranks("cl100k_base").unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut text = String::new();
    for rank in 0..builtin.rank_bound() as u32 {
        if let Some(bytes) = builtin.token_bytes(rank) {
            text.push_str(&format!("{} {rank}\n", b64.encode(bytes)));
        }
    }
    let sha: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha, builtin::sha256("cl100k_base").unwrap());
    let parsed = tokenaudit::tokenize::bpe::ranks::Ranks::from_tiktoken_text(&text).unwrap();
    assert_eq!(parsed.len(), builtin.len());
    assert_eq!(parsed.max_token_len(), builtin.max_token_len());
    for rank in 0..builtin.rank_bound() as u32 {
        let bytes = builtin.token_bytes(rank);
        assert_eq!(parsed.token_bytes(rank), bytes);
        if let Some(bytes) = bytes {
            assert_eq!(parsed.get(bytes), Some(rank));
        }
    }
}
