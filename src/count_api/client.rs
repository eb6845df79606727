/*!
One provider's token-counting endpoint over HTTP: the request each provider
expects, a rate limit, retries with backoff, and a timeout.

- Anthropic: `POST {base}/v1/messages/count_tokens` with `x-api-key` and
  `anthropic-version`, body `{"model", "messages": [{"role": "user",
  "content": TEXT}]}`, answer `{"input_tokens": N}`.
- Gemini: `POST {base}/v1beta/models/{model}:countTokens` with
  `x-goog-api-key`, body `{"contents": [{"parts": [{"text": TEXT}]}]}`,
  answer `{"totalTokens": N}`.

A 429 or 5xx answer, or a failed connection, is retried after the
`Retry-After` the server gives, else after an exponential backoff; any other
status is an error at once (a wrong key does not get better by asking again).
*/

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{CountApiConfig, Provider};

/// Longest wait between two attempts, whatever the server asks for.
const MAX_WAIT: Duration = Duration::from_secs(60);

pub struct Client {
    agent: ureq::Agent,
    provider: Provider,
    base: String,
    key: String,
    min_interval: Duration,
    last: Option<Instant>,
    retries: u32,
    backoff: Duration,
    /// Requests made (retries included).
    pub requests: u64,
}

impl Client {
    pub fn new(config: &CountApiConfig) -> Client {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Client {
            agent,
            provider: config.provider,
            base: config.endpoint.trim_end_matches('/').to_string(),
            key: config.key.clone(),
            min_interval: if config.requests_per_minute == 0 {
                Duration::ZERO
            } else {
                Duration::from_secs(60) / config.requests_per_minute
            },
            last: None,
            retries: config.retries,
            backoff: config.backoff,
            requests: 0,
        }
    }

    /// The address counted against for `model`.
    pub fn url(&self, model: &str) -> String {
        match self.provider {
            Provider::Anthropic => format!("{}/v1/messages/count_tokens", self.base),
            Provider::Gemini => format!("{}/v1beta/models/{model}:countTokens", self.base),
        }
    }

    /// The provider's input-token count of one user message holding `text`,
    /// framing included.
    pub fn count(&mut self, model: &str, text: &str) -> Result<u64, String> {
        let url = self.url(model);
        let body = match self.provider {
            Provider::Anthropic => json!({
                "model": model,
                "messages": [{"role": "user", "content": text}],
            }),
            Provider::Gemini => json!({"contents": [{"parts": [{"text": text}]}]}),
        }
        .to_string();
        let mut attempt = 0;
        loop {
            self.pace();
            self.requests += 1;
            let mut request = self
                .agent
                .post(&url)
                .header("content-type", "application/json");
            request = match self.provider {
                Provider::Anthropic => request
                    .header("x-api-key", &self.key)
                    .header("anthropic-version", "2023-06-01"),
                Provider::Gemini => request.header("x-goog-api-key", &self.key),
            };
            let retry_after = match request.send(body.as_bytes()) {
                Ok(mut response) => {
                    let status = response.status().as_u16();
                    let text = response
                        .body_mut()
                        .read_to_string()
                        .map_err(|e| format!("{url}: reading the answer: {e}"))?;
                    if status == 200 {
                        return self.parse(&url, &text);
                    }
                    if status != 429 && status < 500 {
                        return Err(format!("{url}: HTTP {status}: {}", snippet(&text)));
                    }
                    let wait = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    if attempt >= self.retries {
                        return Err(format!(
                            "{url}: HTTP {status} after {} attempts: {}",
                            attempt + 1,
                            snippet(&text)
                        ));
                    }
                    wait
                }
                Err(e) => {
                    if attempt >= self.retries {
                        return Err(format!("{url}: {e} (after {} attempts)", attempt + 1));
                    }
                    None
                }
            };
            let backoff = self.backoff * 2u32.saturating_pow(attempt);
            std::thread::sleep(retry_after.unwrap_or(backoff).min(MAX_WAIT));
            attempt += 1;
        }
    }

    fn parse(&self, url: &str, text: &str) -> Result<u64, String> {
        let field = match self.provider {
            Provider::Anthropic => "input_tokens",
            Provider::Gemini => "totalTokens",
        };
        serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.get(field).and_then(Value::as_u64))
            .ok_or_else(|| {
                format!(
                    "{url}: expected `{field}` in the answer, got {}",
                    snippet(text)
                )
            })
    }

    /// Waits until the rate limit allows the next request.
    fn pace(&mut self) {
        if let Some(last) = self.last {
            let next = last + self.min_interval;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        self.last = Some(Instant::now());
    }
}

/// The start of a body, on one line, for an error message.
fn snippet(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}
