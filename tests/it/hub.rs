//! `hf:ORG/NAME` against a hub served from this test on 127.0.0.1: the file is
//! downloaded with the bearer token, cached, reused, and a 404 is explained.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use tokenaudit::tokenize::sources::hub::Hub;
use tokenaudit::tokenize::sources::registry::{resolve_with_hub, sha256_hex};
use tokenaudit::tokenize::{TokenizerDir, TokenizerError};

/// A word-level tokenizer.json small enough to write by hand, with padding
/// switched on (it must be ignored).
const TINY: &str = r#"{
  "version": "1.0", "truncation": null,
  "padding": {"strategy": {"Fixed": 32}, "direction": "Right", "pad_to_multiple_of": null,
              "pad_id": 0, "pad_type_id": 0, "pad_token": "[UNK]"},
  "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Whitespace"},
  "post_processor": null, "decoder": null,
  "model": {"type": "WordLevel", "vocab": {"[UNK]": 0, "hello": 1, "world": 2}, "unk_token": "[UNK]"}
}"#;

/// Serves `TINY` at `/org/tiny/resolve/main/tokenizer.json` and 404 elsewhere;
/// returns the endpoint and the request heads it received.
fn serve() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut head = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let found = head.starts_with("GET /org/tiny/resolve/main/tokenizer.json ");
            log.lock().unwrap().push(head);
            let (status, body) = if found {
                ("200 OK", TINY)
            } else {
                ("404 Not Found", "Entry not found")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (endpoint, seen)
}

#[test]
fn downloads_with_the_token_then_uses_the_cache() {
    let (endpoint, seen) = serve();
    let tmp = tempfile::tempdir().unwrap();
    let dir = TokenizerDir::new(tmp.path());
    let hub = Hub {
        endpoint,
        token: Some("secret-token".into()),
    };

    let t = resolve_with_hub("hf:org/tiny", &dir, None, &hub).unwrap();
    // Padding to 32 is off: three words, one unknown.
    assert_eq!(t.counter().count("hello world again"), 3);
    assert_eq!(t.info().sha256, sha256_hex(TINY.as_bytes()));
    assert_eq!(t.info().family, "huggingface");
    assert!(t
        .info()
        .source
        .contains("/org/tiny/resolve/main/tokenizer.json"));
    let cached = tmp.path().join("hf/org/tiny/tokenizer.json");
    assert_eq!(std::fs::read_to_string(&cached).unwrap(), TINY);

    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0]
            .lines()
            .any(|l| l.eq_ignore_ascii_case("authorization: Bearer secret-token")),
        "{}",
        requests[0]
    );

    // The second time, the hub is not asked.
    let again = resolve_with_hub("hf:org/tiny", &dir, None, &hub).unwrap();
    assert_eq!(again.counter().count("hello hello"), 2);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[test]
fn no_token_no_authorization_header() {
    let (endpoint, seen) = serve();
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub {
        endpoint,
        token: None,
    };
    resolve_with_hub("hf:org/tiny", &TokenizerDir::new(tmp.path()), None, &hub).unwrap();
    let requests = seen.lock().unwrap();
    assert!(!requests[0].to_ascii_lowercase().contains("authorization"));
}

#[test]
fn a_missing_repository_is_a_clear_error_and_nothing_is_cached() {
    let (endpoint, _) = serve();
    let tmp = tempfile::tempdir().unwrap();
    let hub = Hub {
        endpoint: endpoint.clone(),
        token: None,
    };
    let err = resolve_with_hub("hf:org/missing", &TokenizerDir::new(tmp.path()), None, &hub)
        .err()
        .unwrap();
    let message = err.to_string();
    assert!(matches!(err, TokenizerError::Download { .. }), "{message}");
    assert!(message.contains("404"), "{message}");
    assert!(
        message.contains(&format!(
            "{endpoint}/org/missing/resolve/main/tokenizer.json"
        )),
        "{message}"
    );
    assert!(!tmp.path().join("hf/org/missing").exists());
}

#[test]
fn an_unreachable_hub_and_a_bad_name_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = TokenizerDir::new(tmp.path());
    // Nothing listens on port 9 of 127.0.0.1 here.
    let hub = Hub {
        endpoint: "http://127.0.0.1:9".into(),
        token: None,
    };
    let err = resolve_with_hub("hf:org/tiny", &dir, None, &hub)
        .err()
        .unwrap();
    assert!(err.to_string().contains("cannot reach"), "{err}");
    let err = resolve_with_hub("hf:../../etc", &dir, None, &hub)
        .err()
        .unwrap();
    assert!(err.to_string().contains("expected hf:ORG/NAME"), "{err}");
}
