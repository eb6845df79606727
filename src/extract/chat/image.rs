/*!
An image part's size, for the providers' image-token formulas
(`count::vision`): from `width`/`height` numbers where an export records them
(on the part, its `image_url` or its `source`), else from the image's own
header when the record carries its bytes (an OpenAI `data:` URL, an
Anthropic `source` of type `base64`). Headers are read with the `imagesize`
crate (PNG, JPEG, GIF, WebP and others) from the first bytes only: a URL to
elsewhere gives no size, and the image is counted without an estimate.
The formulas themselves are `count::vision`'s.
*/

use base64::Engine;
use serde_json::Value;

/// An image in a message: its size when the record says or its data shows
/// it, and whether it was sent at OpenAI's low detail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Image {
    pub size: Option<(u32, u32)>,
    pub low_detail: bool,
}

/// Base64 characters decoded to find a header: 768 KiB of image, enough for
/// a JPEG whose size marker follows large EXIF or ICC blocks.
const HEADER_BASE64: usize = 1 << 20;

/// The size and detail of the image part `part` (an OpenAI `image_url` or
/// Responses `input_image` part, an Anthropic `image` block).
pub fn image_of(part: &Value) -> Image {
    let url = part.get("image_url");
    let source = part.get("source");
    let low_detail = [Some(part), url]
        .into_iter()
        .flatten()
        .any(|v| v.get("detail").and_then(Value::as_str) == Some("low"));
    let size = [Some(part), url, source]
        .into_iter()
        .flatten()
        .find_map(stated_size)
        .or_else(|| data_of(part).and_then(header_size));
    Image { size, low_detail }
}

/// `width` and `height`, both positive integers.
fn stated_size(v: &Value) -> Option<(u32, u32)> {
    let dim = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0)
    };
    Some((dim("width")?, dim("height")?))
}

/// The base64 text of an image carried in the record.
fn data_of(part: &Value) -> Option<&str> {
    let url = match part.get("image_url") {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(o) => o.get("url").and_then(Value::as_str),
        None => None,
    };
    if let Some(url) = url {
        let (head, data) = url.strip_prefix("data:")?.split_once(',')?;
        return head.ends_with(";base64").then_some(data);
    }
    let source = part.get("source")?;
    (source.get("type").and_then(Value::as_str) == Some("base64"))
        .then(|| source.get("data").and_then(Value::as_str))?
}

/// The size in the header of a base64 image, decoding only its start.
fn header_size(data: &str) -> Option<(u32, u32)> {
    let data = data.trim_start();
    // Most formats (PNG, GIF, WebP, BMP) say their size in the first 32
    // bytes; a JPEG's can come after large metadata. So a short prefix is
    // tried first, a longer one only when it does not tell, instead of
    // decoding up to 1 MiB of every image.
    for limit in [256, 64 << 10, HEADER_BASE64] {
        let mut end = data.len().min(limit);
        while end > 0 && !data.is_char_boundary(end) {
            end -= 1;
        }
        // Whole 4-character groups, so the prefix of a longer text decodes.
        let prefix = &data[..end - end % 4];
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(prefix) else {
            return None;
        };
        if let Ok(size) = imagesize::blob_size(&bytes) {
            return Some((
                u32::try_from(size.width).ok()?,
                u32::try_from(size.height).ok()?,
            ))
            .filter(|(w, h)| *w > 0 && *h > 0);
        }
        if end >= data.len() {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A PNG's first 24 bytes: signature, IHDR length and type, width and
    /// height (big-endian), as the PNG specification lays them out.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        let mut b = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
        b.extend_from_slice(&13u32.to_be_bytes());
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&[8, 6, 0, 0, 0]);
        b.extend_from_slice(&[0; 40]);
        b
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn sizes_come_from_stated_numbers_data_urls_and_base64_sources() {
        let openai = json!({"type": "image_url", "image_url": {
            "url": format!("data:image/png;base64,{}", b64(&png_header(1024, 768))), "detail": "high"}});
        assert_eq!(
            image_of(&openai),
            Image {
                size: Some((1024, 768)),
                low_detail: false
            }
        );
        let anthropic = json!({"type": "image", "source": {"type": "base64", "media_type": "image/png",
            "data": b64(&png_header(200, 300))}});
        assert_eq!(image_of(&anthropic).size, Some((200, 300)));
        let responses = json!({"type": "input_image", "detail": "low",
            "image_url": format!("data:image/png;base64,{}", b64(&png_header(5, 6)))});
        assert_eq!(
            image_of(&responses),
            Image {
                size: Some((5, 6)),
                low_detail: true
            }
        );
        let stated = json!({"type": "image_url", "image_url": {"url": "https://x/y.png", "width": 640, "height": 480}});
        assert_eq!(image_of(&stated).size, Some((640, 480)));
    }

    #[test]
    fn a_remote_or_unreadable_image_has_no_size() {
        let remote =
            json!({"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}});
        assert_eq!(image_of(&remote), Image::default());
        let garbage =
            json!({"type": "image", "source": {"type": "base64", "data": "bm90IGFuIGltYWdl"}});
        assert_eq!(image_of(&garbage).size, None);
        let not_base64 = json!({"type": "image", "source": {"type": "base64", "data": "%%%%"}});
        assert_eq!(image_of(&not_base64).size, None);
        let zero = json!({"type": "image_url", "image_url": {"url": "u", "width": 0, "height": 5}});
        assert_eq!(image_of(&zero).size, None);
    }
}
