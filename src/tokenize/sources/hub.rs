/*!
`hf:ORG/NAME`: a `tokenizer.json` from a Hugging Face-compatible hub.

The file is downloaded once from `{endpoint}/{ORG}/{NAME}/resolve/main/
tokenizer.json` into `<tokenizer dir>/hf/ORG/NAME/tokenizer.json` and reused
from there on later runs, so an audit repeated offline counts with the same
bytes (their sha256 goes into the report). The endpoint is `$HF_ENDPOINT`
(default `https://huggingface.co`, or a mirror); `$HF_TOKEN`, when set, is
sent as a bearer token for gated repositories.

This module only fetches; `hf` loads the file. The HTTP client is `ureq`:
small, blocking (one request per run needs no async runtime) and TLS via rustls.
*/

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::tokenize::TokenizerError;

/// Where `hf:` specs are fetched from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hub {
    /// Base address, without a trailing `/`.
    pub endpoint: String,
    /// Sent as `Authorization: Bearer …` when present.
    pub token: Option<String>,
}

pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

impl Hub {
    /// `$HF_ENDPOINT` (default [`DEFAULT_ENDPOINT`]) and `$HF_TOKEN`.
    pub fn from_env() -> Self {
        let nonempty = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        Hub {
            endpoint: nonempty("HF_ENDPOINT")
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
                .trim_end_matches('/')
                .to_string(),
            token: nonempty("HF_TOKEN"),
        }
    }

    /// The address of a repository's `tokenizer.json`.
    pub fn url(&self, repo: &str) -> String {
        format!(
            "{}/{repo}/resolve/main/tokenizer.json",
            self.endpoint.trim_end_matches('/')
        )
    }
}

/// Checks that `repo` is `ORG/NAME` made of the characters hub names use, so
/// it can be both a URL path and a cache path without escaping anything.
pub fn check_repo(repo: &str) -> Result<(), String> {
    let parts: Vec<&str> = repo.split('/').collect();
    let ok_part = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if parts.len() == 2 && parts.iter().all(|p| ok_part(p)) {
        Ok(())
    } else {
        Err(format!(
            "expected hf:ORG/NAME (letters, digits, `-`, `_`, `.`), found hf:{repo}"
        ))
    }
}

/// Where the cached copy of `repo`'s tokenizer.json lives under `dir`.
pub fn cache_path(dir: &Path, repo: &str) -> PathBuf {
    dir.join("hf").join(repo).join("tokenizer.json")
}

/// The path of `repo`'s tokenizer.json under `dir`, downloading it first when
/// it is not there yet.
pub fn fetch(hub: &Hub, repo: &str, dir: &Path) -> Result<PathBuf, TokenizerError> {
    check_repo(repo).map_err(|message| TokenizerError::Invalid {
        path: format!("hf:{repo}"),
        message,
    })?;
    let path = cache_path(dir, repo);
    if path.is_file() {
        return Ok(path);
    }
    let url = hub.url(repo);
    let data = download(hub, &url)?;
    // Parse before caching: a hub error page served with status 200 must not
    // be kept as if it were a tokenizer.
    if serde_json::from_slice::<serde_json::Value>(&data).is_err() {
        return Err(TokenizerError::Download {
            url,
            message: "expected a tokenizer.json, the response is not JSON".into(),
        });
    }
    let io_err = |e: std::io::Error| TokenizerError::Invalid {
        path: path.display().to_string(),
        message: format!("cannot write the downloaded tokenizer.json: {e}"),
    };
    std::fs::create_dir_all(path.parent().expect("cache path has a parent")).map_err(io_err)?;
    let part = path.with_extension("json.part");
    std::fs::write(&part, &data).map_err(io_err)?;
    std::fs::rename(&part, &path).map_err(io_err)?;
    Ok(path)
}

/// Largest tokenizer.json accepted (the biggest public ones are ~35 MB).
const MAX_BYTES: u64 = 1 << 30;

fn download(hub: &Hub, url: &str) -> Result<Vec<u8>, TokenizerError> {
    let failed = |message: String| TokenizerError::Download {
        url: url.to_string(),
        message,
    };
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .new_agent();
    let mut request = agent.get(url);
    if let Some(token) = &hub.token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let response = request.call().map_err(|e| match e {
        ureq::Error::StatusCode(404) => {
            failed("HTTP 404: no tokenizer.json there (check ORG/NAME; gated repositories also need HF_TOKEN)".into())
        }
        ureq::Error::StatusCode(code @ (401 | 403)) => {
            failed(format!("HTTP {code}: access denied (set HF_TOKEN to a token that can read this repository)"))
        }
        ureq::Error::StatusCode(code) => failed(format!("HTTP {code}")),
        other => failed(format!("cannot reach the hub ({other}); set HF_ENDPOINT for a mirror")),
    })?;
    let mut data = Vec::new();
    response
        .into_body()
        .into_with_config()
        .limit(MAX_BYTES)
        .reader()
        .read_to_end(&mut data)
        .map_err(|e| failed(format!("download interrupted: {e}")))?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_are_checked() {
        assert!(check_repo("bert-base/uncased_v1.2").is_ok());
        for bad in [
            "", "org", "org/", "/name", "a/b/c", "../x", "org/..", "o rg/n",
        ] {
            assert!(check_repo(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn url_and_cache_path() {
        let hub = Hub {
            endpoint: "http://127.0.0.1:9/".into(),
            token: None,
        };
        assert_eq!(
            hub.url("a/b"),
            "http://127.0.0.1:9/a/b/resolve/main/tokenizer.json"
        );
        assert_eq!(
            cache_path(Path::new("/t"), "a/b"),
            PathBuf::from("/t/hf/a/b/tokenizer.json")
        );
    }
}
