//! `tokenaudit compare`: its counts are audit's (one pipeline), and its
//! by-script breakdown puts documents written in known scripts where they
//! belong.

use std::path::Path;

use crate::common::*;
use serde_json::Value;

fn compare_json(args: &[&str]) -> Value {
    let mut all = vec!["compare", "-q", "--json", "-"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(out.status.success(), "compare failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("compare --json - is JSON")
}

fn audit_json(args: &[&str]) -> Value {
    let mut all = vec!["audit", "-q", "--json", "-"];
    all.extend_from_slice(args);
    let out = run(&all);
    assert!(out.status.success(), "audit failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("audit --json - is JSON")
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// The tokens of `tokenizer` in the `name` entry of a compare breakdown.
fn group<'a>(c: &'a Value, section: &str, name: &str) -> Option<&'a Value> {
    c[section]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
}

fn check_equal_to_audit(tokenizers: &str) {
    let root = "fixtures/corpus";
    let c = compare_json(&[root, "-t", tokenizers]);
    let a = audit_json(&[root, "-t", tokenizers]);
    assert_eq!(c["schema"], "tokenaudit.compare/v1");
    assert_eq!(c["baseline"], "o200k_base");
    let names: Vec<&str> = c["tokenizers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tokenizer"].as_str().unwrap())
        .collect();
    let audited: Vec<&str> = a["totals"]["per_tokenizer"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tokenizer"].as_str().unwrap())
        .collect();
    assert_eq!(names, audited);
    assert!(names.len() >= 4, "{names:?}");
    let base = u(&a["totals"]["tokens"]["o200k_base"]);
    for t in c["tokenizers"].as_array().unwrap() {
        let name = t["tokenizer"].as_str().unwrap();
        let tokens = u(&t["tokens"]);
        assert_eq!(tokens, u(&a["totals"]["tokens"][name]), "{name}");
        let rel = t["relative"].as_f64().unwrap();
        assert!((rel - tokens as f64 / base as f64).abs() < 0.001, "{name}");
        assert!(t["mb_per_second"].as_f64().unwrap() > 0.0, "{name} timed");
        // Every category, and the scripts, sum to the same total.
        for (cat, g) in a["by_category"].as_object().unwrap() {
            let mine = group(&c, "by_category", cat).expect("every category");
            assert_eq!(u(&mine["tokens"][name]), u(&g["tokens"][name]), "{cat}");
        }
        let by_script: u64 = c["by_script"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| u(&s["tokens"][name]))
            .sum();
        assert_eq!(by_script, tokens, "{name}: scripts sum to the total");
    }
    // The audit's JSON carries the same breakdown.
    assert_eq!(
        a["by_script"].as_array().unwrap().len(),
        c["by_script"].as_array().unwrap().len()
    );
    assert_eq!(
        u(&c["corpus"]["files_counted"]),
        u(&a["totals"]["files_counted"])
    );
    assert_eq!(
        c["corpus"]["digest"],
        a["provenance"]["corpus_digest"]["sha256"]
    );
}

#[test]
fn compare_counts_equal_audit_counts_on_the_fixtures() {
    check_equal_to_audit("o200k_base,cl100k_base,p50k_base,r50k_base");
}

#[test]
fn all_means_every_installed_tokenizer_in_compare_and_audit() {
    // Built-ins always; the fetched ones where installed (scripts/test
    // fetches them).
    check_equal_to_audit("all");
    let listed = run(&["tokenizers", "--json"]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let installed = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["installed"] == true)
        .count();
    let c = compare_json(&["fixtures/corpus/prompts", "-t", "all"]);
    assert_eq!(c["tokenizers"].as_array().unwrap().len(), installed);
}

/// One document per script group, each in its own file.
const SCRIPTS: &[(&str, &str, &str)] = &[
    (
        "latin",
        "en.txt",
        "The quick brown fox jumps over the lazy dog. ",
    ),
    (
        "cyrillic",
        "ru.txt",
        "Съешь же ещё этих мягких французских булок. ",
    ),
    ("greek", "el.txt", "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. "),
    ("arabic", "ar.txt", "نص حكيم له سر قاطع وذو شأن عظيم. "),
    ("hebrew", "he.txt", "דג סקרן שט בים מאוכזב ולפתע מצא חברה. "),
    (
        "indic",
        "hi.txt",
        "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले। ",
    ),
    ("han", "zh.txt", "天地玄黄宇宙洪荒日月盈昃辰宿列张。"),
    (
        "kana",
        "ja.txt",
        "いろはにほへとちりぬるをわかよたれそつねならむ。",
    ),
    (
        "hangul",
        "ko.txt",
        "키스의 고유조건은 입술끼리 만나야 하고 특별한 기술은 필요치 않다. ",
    ),
    ("thai", "th.txt", "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า "),
    ("other", "hy.txt", "Բարեւ աշխարհ, սա հայերեն տեքստ է։ "),
    ("none", "nums.txt", "12,345.67; 89 + 10 = 99 "),
];

#[test]
fn documents_in_known_scripts_land_in_their_script() {
    let dir = tempfile::tempdir().unwrap();
    for (_, file, text) in SCRIPTS {
        std::fs::write(dir.path().join(file), text.repeat(20)).unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let c = compare_json(&[root, "-t", "o200k_base,cl100k_base"]);
    let scripts: Vec<&str> = c["by_script"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = SCRIPTS.iter().map(|s| s.0).collect();
    assert_eq!(scripts, expected, "every script, in the table's order");
    let o200k = tokenaudit::tokenize::sources::builtin::resolve("o200k_base").unwrap();
    for (script, file, text) in SCRIPTS {
        let g = group(&c, "by_script", script).unwrap();
        let text = text.repeat(20);
        assert_eq!(u(&g["units"]), 1, "{script}: one document");
        assert_eq!(u(&g["bytes"]), text.len() as u64, "{script}: {file}");
        assert_eq!(u(&g["chars"]), text.chars().count() as u64, "{script}");
        assert_eq!(
            u(&g["tokens"]["o200k_base"]),
            o200k.counter().count(&text),
            "{script}: its document's tokens"
        );
        assert_eq!(g["relative"]["o200k_base"].as_f64(), Some(1.0));
    }
    // cl100k, trained mostly on English, needs more tokens for Hindi than
    // o200k does; about as many for English.
    let rel = |s: &str| {
        group(&c, "by_script", s).unwrap()["relative"]["cl100k_base"]
            .as_f64()
            .unwrap()
    };
    assert!(rel("indic") > 1.5, "{}", rel("indic"));
    assert!(rel("latin") < 1.2, "{}", rel("latin"));
}

#[test]
fn a_large_mixed_document_is_split_by_piece() {
    // 1 MiB of English then 1 MiB of Russian in one file: counted in 256
    // KiB pieces, each classed by its own script.
    let dir = tempfile::tempdir().unwrap();
    let en = "The quick brown fox jumps over the lazy dog.\n".repeat(1 << 20 >> 5);
    let ru = "Съешь же ещё этих мягких французских булок.\n".repeat(1 << 20 >> 6);
    let text = format!("{en}{ru}");
    let path = dir.path().join("mixed.txt");
    std::fs::write(&path, &text).unwrap();
    let c = compare_json(&[path.to_str().unwrap(), "-t", "o200k_base"]);
    let latin = group(&c, "by_script", "latin").expect("latin pieces");
    let cyrillic = group(&c, "by_script", "cyrillic").expect("cyrillic pieces");
    assert_eq!(c["by_script"].as_array().unwrap().len(), 2);
    let pieces = u(&latin["units"]) + u(&cyrillic["units"]);
    assert!(pieces >= 6, "{pieces} pieces");
    assert_eq!(
        u(&latin["bytes"]) + u(&cyrillic["bytes"]),
        text.len() as u64
    );
    // Each half's bytes go to its script, up to the one piece that holds
    // the seam.
    let piece = 256 * 1024 + 1024;
    assert!(u(&latin["bytes"]).abs_diff(en.len() as u64) <= piece);
    assert!(u(&cyrillic["bytes"]).abs_diff(ru.len() as u64) <= piece);
    let total = u(&c["tokenizers"][0]["tokens"]);
    let o200k = tokenaudit::tokenize::sources::builtin::resolve("o200k_base").unwrap();
    assert_eq!(total, o200k.counter().count(&text));
}

#[test]
fn csv_markdown_and_table_agree_with_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("c.csv");
    let md = dir.path().join("c.md");
    let json = dir.path().join("c.json");
    let out = run(&[
        "compare",
        "-q",
        "fixtures/corpus",
        "-t",
        "cl100k_base",
        "-m",
        "gpt-5.4-mini,gpt-4o",
        "--csv",
        csv.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let c = crate::common::json(&json);
    // The baseline is counted though -t did not name it.
    assert_eq!(c["baseline"], "o200k_base");
    let rows = csv_rows(&csv);
    let total = |name: &str| {
        rows.iter()
            .find(|r| r["section"] == "total" && r["tokenizer"] == name)
            .unwrap()["tokens"]
            .parse::<u64>()
            .unwrap()
    };
    for t in c["tokenizers"].as_array().unwrap() {
        let name = t["tokenizer"].as_str().unwrap();
        assert_eq!(total(name), u(&t["tokens"]));
    }
    let script_rows = rows.iter().filter(|r| r["section"] == "script").count();
    assert_eq!(
        script_rows,
        c["by_script"].as_array().unwrap().len() * c["tokenizers"].as_array().unwrap().len()
    );
    let costs = c["costs"].as_array().unwrap();
    assert_eq!(costs.len(), 2);
    let cheapest = costs
        .iter()
        .map(|m| m["relative_to_cheapest"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(cheapest, 1.0);
    let markdown = std::fs::read_to_string(&md).unwrap();
    assert!(markdown.contains("### By script"), "{markdown}");
    assert!(markdown.contains("`gpt-4o`"), "{markdown}");
    let table = stdout(&run(&[
        "compare",
        "-q",
        "fixtures/corpus",
        "-t",
        "cl100k_base",
    ]));
    assert!(table.contains("By script"), "{table}");
    assert!(table.contains("cl100k_base"), "{table}");
}

#[test]
fn bench_repeats_and_states_the_machine() {
    let c = compare_json(&[
        "fixtures/corpus/prompts",
        "-t",
        "cl100k_base",
        "--bench",
        "3",
    ]);
    let b = &c["bench"];
    assert_eq!(b["runs"], 3);
    assert!(u(&b["machine"]["cores"]) >= 1);
    assert!(u(&b["peak_rss_bytes"]) > 1 << 20);
    assert_eq!(b["corpus_digest"], c["corpus"]["digest"]);
    for t in b["tokenizers"].as_array().unwrap() {
        let s = &t["mb_per_second"];
        assert_eq!(s["samples"].as_array().unwrap().len(), 3);
        let (lo, mid, hi) = (
            s["min"].as_f64().unwrap(),
            s["median"].as_f64().unwrap(),
            s["max"].as_f64().unwrap(),
        );
        assert!(lo <= mid && mid <= hi && lo > 0.0, "{s}");
    }
}

#[test]
fn compare_without_tokenizers_is_a_usage_error() {
    let out = run(&["compare", "-q", "fixtures/corpus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("-t all"), "{}", stderr(&out));
    assert!(Path::new("fixtures/corpus").is_dir());
}

/// One document per language (the same sentence, translated), and one of
/// numbers only, which no language is detected in.
const LANGUAGES: &[(&str, &str, &str)] = &[
    ("eng", "en.txt", "The committee will meet next Tuesday to review the annual budget and decide which projects should receive funding. "),
    ("fra", "fr.txt", "Le comité se réunira mardi prochain pour examiner le budget annuel et décider quels projets doivent recevoir un financement. "),
    ("deu", "de.txt", "Der Ausschuss tritt nächsten Dienstag zusammen, um den Jahreshaushalt zu prüfen und zu entscheiden, welche Projekte gefördert werden sollen. "),
    ("spa", "es.txt", "El comité se reunirá el próximo martes para revisar el presupuesto anual y decidir qué proyectos deben recibir financiación. "),
    ("ita", "it.txt", "Il comitato si riunirà martedì prossimo per esaminare il bilancio annuale e decidere quali progetti debbano ricevere i finanziamenti. "),
    ("rus", "ru.txt", "Комитет соберётся в следующий вторник, чтобы рассмотреть годовой бюджет и решить, какие проекты должны получить финансирование. "),
    ("jpn", "ja.txt", "委員会は来週の火曜日に集まり、年間予算を見直して、どのプロジェクトに資金を提供するかを決めます。"),
    ("cmn", "zh.txt", "委员会将于下周二开会，审查年度预算，并决定哪些项目应当获得资金。"),
    ("ara", "ar.txt", "ستجتمع اللجنة يوم الثلاثاء المقبل لمراجعة الميزانية السنوية وتحديد المشاريع التي يجب أن تحصل على التمويل. "),
    ("hin", "hi.txt", "समिति अगले मंगलवार को वार्षिक बजट की समीक्षा करने और यह तय करने के लिए बैठक करेगी कि किन परियोजनाओं को धन मिलना चाहिए। "),
    ("kor", "ko.txt", "위원회는 다음 주 화요일에 모여 연간 예산을 검토하고 어떤 프로젝트에 자금을 지원할지 결정할 것입니다. "),
    ("und", "nums.txt", "12,345.67; 89 + 10 = 99 "),
];

#[test]
fn documents_in_known_languages_are_detected_and_labelled_as_detected() {
    let dir = tempfile::tempdir().unwrap();
    for (_, file, text) in LANGUAGES {
        std::fs::write(dir.path().join(file), text.repeat(5)).unwrap();
    }
    let root = dir.path().to_str().unwrap();
    let c = compare_json(&[root, "-t", "o200k_base,cl100k_base", "--lang"]);
    let detection = &c["language_detection"];
    assert!(
        detection["detected_by"]
            .as_str()
            .unwrap()
            .contains("whatlang"),
        "{detection}"
    );
    assert_eq!(detection["names"]["fra"], "French");
    let found: Vec<&str> = c["by_language"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(found.len(), LANGUAGES.len(), "{found:?}");
    assert_eq!(found.last(), Some(&"und"), "undetermined last");
    let o200k = tokenaudit::tokenize::sources::builtin::resolve("o200k_base").unwrap();
    for (lang, file, text) in LANGUAGES {
        let g = group(&c, "by_language", lang).unwrap_or_else(|| panic!("{file}: no {lang}"));
        let text = text.repeat(5);
        assert_eq!(u(&g["units"]), 1, "{lang}: one document");
        assert_eq!(u(&g["bytes"]), text.len() as u64, "{lang}: {file}");
        assert_eq!(
            u(&g["tokens"]["o200k_base"]),
            o200k.counter().count(&text),
            "{lang}: its document's tokens"
        );
        if *lang != "und" {
            assert_eq!(u(&detection["reliable_pieces"][lang]), 1, "{lang}");
        }
    }
    let total: u64 = c["by_language"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| u(&g["tokens"]["cl100k_base"]))
        .sum();
    assert_eq!(total, u(&c["tokenizers"][1]["tokens"]));

    // Every output says the languages were detected.
    let out = run(&[
        "compare",
        root,
        "-q",
        "-t",
        "o200k_base,cl100k_base",
        "--lang",
    ]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("By detected language (whatlang"), "{table}");
    assert!(table.contains("Hindi"), "{table}");
    let out = run(&[
        "compare",
        root,
        "-q",
        "-t",
        "o200k_base",
        "--lang",
        "--csv",
        "-",
    ]);
    let csv = String::from_utf8(out.stdout).unwrap();
    assert!(
        csv.contains("language (detected),kor,o200k_base,1,"),
        "{csv}"
    );
    let out = run(&[
        "compare",
        root,
        "-q",
        "-t",
        "o200k_base",
        "--lang",
        "--markdown",
        "-",
    ]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("### By language (detected)"), "{md}");
    assert!(md.contains("| Korean |") || md.contains("Korean"), "{md}");

    // audit --lang carries the same breakdown in its report; without
    // --lang neither has one.
    let a = audit_json(&[root, "-t", "o200k_base,cl100k_base", "--lang"]);
    let langs = &a["by_language"];
    assert!(langs["detected_by"].as_str().unwrap().contains("whatlang"));
    for g in langs["languages"].as_array().unwrap() {
        let mine = group(&c, "by_language", g["language"].as_str().unwrap()).unwrap();
        assert_eq!(g["tokens"], mine["tokens"]);
    }
    assert!(audit_json(&[root]).get("by_language").is_none());
    assert!(compare_json(&[root, "-t", "o200k_base"])
        .get("by_language")
        .is_none());
}

/// With --lang, every piece's bytes are under one language as under one
/// script: a record file (chat) its size on disk in both.
#[test]
fn language_bytes_add_up_to_the_bytes_counted_like_script_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let chat = "{\"messages\":[{\"role\":\"user\",\"content\":\"Bonjour, pouvez-vous résumer ce contrat de location ?\"},{\"role\":\"assistant\",\"content\":\"Oui : le bail dure trois ans.\"}]}\n";
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(chat.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let chat_bytes = utf16.len() as u64;
    std::fs::write(dir.path().join("chat16.jsonl"), utf16).unwrap();
    std::fs::write(
        dir.path().join("latin1.txt"),
        b"Le fournisseur livrera les marchandises \xe0 l'acheteur dans les trente jours.\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.txt"), "").unwrap();
    let out = dir.path().join("r.json");
    let r = run(&[
        "audit",
        dir.path().to_str().unwrap(),
        "-q",
        "--lang",
        "--json",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", stderr(&r));
    let report = json(&out);
    let counted = report["totals"]["bytes_counted"].as_u64().unwrap();
    let sum = |items: &serde_json::Value| -> u64 {
        items
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["bytes"].as_u64().unwrap())
            .sum()
    };
    // A record file counts its size on disk (UTF-16 here, two bytes a
    // character): under its language as under its script.
    assert_eq!(report["by_format"]["chat"]["bytes"], chat_bytes);
    assert_eq!(
        sum(&report["by_language"]["languages"]),
        sum(&report["by_script"])
    );
    // Text pieces count their decoded UTF-8 bytes in both (the Latin-1
    // file's one accented letter is one byte more than on disk).
    assert_eq!(sum(&report["by_script"]), counted + 1);
}
