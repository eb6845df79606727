//! Helpers shared by the tests that need the fetched tokenizer files, and the
//! texts they count.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use tokenaudit::tokenize::sources::registry::{self, Family};
use tokenaudit::tokenize::{self, chunk, SharedTokenizer, TokenizerDir};

/// Every named tokenizer that lives in a file.
pub fn file_names() -> Vec<&'static str> {
    registry::NAMED
        .iter()
        .filter(|n| n.family != Family::Builtin)
        .map(|n| n.name)
        .collect()
}

/// Set by `scripts/test` (and so by `.ci/run`): a tokenizer file that is
/// missing fails the test instead of leaving it unchecked.
pub const REQUIRE_ENV: &str = "TOKENAUDIT_REQUIRE_TOKENIZERS";

/// The tokenizer directory of this machine, if `name`'s file is in it.
///
/// When it is missing, the test that asked cannot check anything with it:
/// under `scripts/test` that is a failure; in a bare `cargo test` it says by
/// name, on stderr, what was NOT CHECKED, so a green run without the files
/// cannot be mistaken for a checked one.
pub fn installed_dir(name: &str) -> Option<TokenizerDir> {
    let dir = TokenizerDir::locate(None);
    let named = registry::named(name).expect("a known name");
    if named.family == Family::Builtin || dir.file(named).is_file() {
        return Some(dir);
    }
    let why = format!(
        "{name}: {} is missing; run `{}`",
        dir.file(named).display(),
        dir.fetch_command(name)
    );
    if std::env::var_os(REQUIRE_ENV).is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{why} ({REQUIRE_ENV} is set: missing tokenizer files fail the tests)");
    }
    eprintln!("NOT CHECKED {why}");
    None
}

/// Loads each tokenizer once per test process (gemma3's file is 33 MB).
pub fn load(name: &str) -> Option<SharedTokenizer> {
    static CACHE: OnceLock<Mutex<HashMap<String, SharedTokenizer>>> = OnceLock::new();
    let dir = installed_dir(name)?;
    let cache = CACHE.get_or_init(Default::default);
    if let Some(t) = cache.lock().unwrap().get(name) {
        return Some(t.clone());
    }
    let started = std::time::Instant::now();
    let t = tokenize::resolve(name, &dir, None).unwrap_or_else(|e| panic!("{name}: {e}"));
    eprintln!("loaded {name} in {:.2?}", started.elapsed());
    cache.lock().unwrap().insert(name.to_string(), t.clone());
    Some(t)
}

/// Counts `text` as the audit does with long documents: cut into pieces at
/// exact-safe boundaries, the first counted as a document start, the rest as
/// continuations.
pub fn count_chunked(t: &SharedTokenizer, text: &str, target: usize) -> (u64, usize) {
    let mut counter = t.counter();
    let pieces = chunk::pieces(text, target);
    let total = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i == 0 {
                counter.count(p)
            } else {
                counter.count_continuation(p)
            }
        })
        .sum();
    (total, pieces.len())
}

pub const SAMPLE: &str = "The quick brown fox jumps over the lazy dog. Ünïcödé 你好 1234567";

pub const ENGLISH: &str = "Counting tokens exactly matters when a budget depends on it.\n\
Every model splits text in its own way, so the same paragraph can cost a different amount\n\
depending on which tokenizer reads it. We don't guess: we count, and we say which vocabulary we used.\n\
It's 2025-11-28, and the invoice says 1,234,567 tokens at $3.00 per million (that's about $3.70).";

pub const ARABIC: &str = "تعتمد تكلفة النماذج اللغوية على عدد الرموز في النص.\n\
لذلك نحسب الرموز بدقة لكل ملف، ونذكر المفرادات التي استخدمناها في الحساب.\n\
النص العربي يُقسَّم بطريقة مختلفة عن النص الإنجليزي، وأحيانًا يكلّف أكثر.";

pub const PERSIAN: &str = "هزینهٔ مدل‌های زبانی به تعداد توکن‌ها بستگی دارد.\n\
ما توکن‌ها را دقیق می‌شماریم و می‌گوییم از کدام واژگان استفاده کرده‌ایم.\n\
این متن فارسی با نیم‌فاصله و اعداد ۱۲۳۴۵ نوشته شده است.";

pub const CHINESE: &str = "语言模型的费用取决于文本中的词元数量。\n\
我们精确地统计每个文件的词元，并说明使用了哪一个词表。\n\
同一段话在不同的模型里，费用可能相差很多。";

pub const JAPANESE: &str = "言語モデルの費用はテキストのトークン数で決まります。\n\
私たちは各ファイルのトークンを正確に数え、どの語彙を使ったかを記録します。\n\
ひらがな、カタカナ、漢字が混ざった文章は分割のされ方が違います。";

pub const KOREAN: &str = "언어 모델의 비용은 텍스트의 토큰 수에 따라 달라집니다.\n\
우리는 각 파일의 토큰을 정확하게 세고, 어떤 어휘를 사용했는지 기록합니다.\n\
같은 문단이라도 모델마다 비용이 다를 수 있습니다.";

pub const RUSSIAN: &str = "Стоимость языковых моделей зависит от количества токенов в тексте.\n\
Мы точно считаем токены в каждом файле и указываем, какой словарь использовали.\n\
Один и тот же абзац может стоить по-разному в разных моделях.";

pub const CODE: &str = "fn main() {\n\
    let totals: Vec<u64> = files.iter().map(|f| f.tokens).collect();\n\
    if totals.is_empty() {\n\
        eprintln!(\"no files\");\n\
        return;\n\
    }\n\
\tlet sum: u64 = totals.iter().sum(); // tabs and spaces\n\
    println!(\"{sum} tokens, {:.2} per file\", sum as f64 / totals.len() as f64);\n\
}\n\
def count(path):\n\
    with open(path, encoding='utf-8') as f:\n\
        return sum(len(line.split()) for line in f)  # 'words', not tokens\n\
SELECT name, COUNT(*) FROM files WHERE size > 1024 GROUP BY name;\n\
<div class=\"report\">&nbsp;<span>1.5e-3</span></div>\n";

/// Adversarial lines joined by newlines so the chunker has places to cut;
/// `run` is the length of the long runs of one character.
pub fn adversarial(run: usize) -> String {
    adversarial_with(run, true)
}

/// [`adversarial`], optionally without the line of special-token text (which
/// tokenizer.json files count as special tokens and rank files as text).
pub fn adversarial_with(run: usize, specials: bool) -> String {
    let mut parts: Vec<String> = vec![
        format!("a{}", "a".repeat(run)),
        format!("x{}y", " ".repeat(run / 4)),
        format!("z{}", "=".repeat(run / 2)),
        format!("digits {}", "0123456789".repeat(run / 100 + 1)),
        "mixed\r\nline endings\r\n\r\nand\rlone\rcarriage\n\nreturns".into(),
        "emoji 👩‍👩‍👧‍👦 👨🏽‍💻 🏳️‍🌈 🇫🇷🇯🇵 ❤️‍🔥 and 🤷‍♀️".into(),
        "combining e\u{301}\u{302}\u{303} a\u{308}\u{308} Z\u{335}\u{336}\u{337} ﷺ ﬃ ① Ⅻ".into(),
        "controls \u{0} \u{7} \u{1b}[31m \u{7f} \u{200b}\u{200d}\u{feff} \u{a0}\u{2028}".into(),
        format!("tabs{}", "\t".repeat(run / 10)),
        format!("b{}", "ab".repeat(run / 2)),
        format!("w{}", "你".repeat(run / 8)),
        "trailing spaces   \nending".into(),
        "Ünïcödé 你好 1234567 ١٢٣ ۴۵۶".into(),
    ];
    if specials {
        parts.push("special tokens as text <|endoftext|> <|begin_of_text|> <s> </s> [CLS]".into());
    }
    parts.push("end".into());
    parts.join("\n")
}

/// Every text the exactness tests count, named.
pub fn corpus(run: usize) -> Vec<(&'static str, String)> {
    corpus_with(run, true)
}

/// [`corpus`], optionally without special-token text.
pub fn corpus_with(run: usize, specials: bool) -> Vec<(&'static str, String)> {
    vec![
        ("sample", SAMPLE.to_string()),
        ("english", ENGLISH.to_string()),
        ("arabic", ARABIC.to_string()),
        ("persian", PERSIAN.to_string()),
        ("chinese", CHINESE.to_string()),
        ("japanese", JAPANESE.to_string()),
        ("korean", KOREAN.to_string()),
        ("russian", RUSSIAN.to_string()),
        ("code", CODE.to_string()),
        ("adversarial", adversarial_with(run, specials)),
        (
            "all",
            [
                ENGLISH, ARABIC, PERSIAN, CHINESE, JAPANESE, KOREAN, RUSSIAN, CODE,
            ]
            .join("\n"),
        ),
    ]
}

// ---- running the real binary (end-to-end tests)

/// The reference count of `text` in o200k_base (tiktoken-rs), what an
/// audit's o200k figures are checked against.
pub fn o200k(text: &str) -> u64 {
    tiktoken_rs::o200k_base_singleton()
        .encode_ordinary(text)
        .len() as u64
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tokenaudit")
}

pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("the tokenaudit binary runs")
}

/// Runs the binary with `input` on its standard input.
pub fn run_with_input(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tokenaudit binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// CSV rows as maps from header to cell.
pub fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}
