/*!
What the images in a transcript may cost in tokens, by the formulas the
providers publish. Estimates: the records rarely say which model read them,
and a provider may change how it scales images.

- OpenAI, "Images and vision", "Calculating costs" (platform.openai.com,
  the GPT-4o / GPT-4.1 / o-series tile rule): an image sent with
  `detail: low` is 85 tokens whatever its size; otherwise it is scaled to fit
  in a 2048 × 2048 square, then (when its shorter side is over 768 px) so
  that its shorter side is 768 px, and costs 85 tokens plus 170 per 512 px
  tile that covers it. The documentation's examples: 1024 × 1024 is 765
  tokens, 2048 × 4096 is 1,105. Models billed by 32 px patches
  (gpt-4.1-mini and later minis) and gpt-4o-mini (other multipliers) differ.
- Anthropic, "Vision", "Evaluate image size" (docs.anthropic.com): tokens =
  width × height / 750, after an image whose long edge is over 1,568 px or
  which would be over about 1,600 tokens is scaled down, aspect kept, until
  it is within both limits. The documentation's examples: 200 × 200 is about
  54 tokens, 1000 × 1000 about 1,334, 1092 × 1092 about 1,590.
*/

use serde::{Deserialize, Serialize};

pub use crate::extract::chat::image::Image;

const OPENAI_BASE: u64 = 85;
const OPENAI_PER_TILE: u64 = 170;
const OPENAI_TILE: f64 = 512.0;
const OPENAI_FIT: f64 = 2048.0;
const OPENAI_SHORT_SIDE: f64 = 768.0;

/// OpenAI's tile rule (gpt-4o class): `None` when neither the size nor low
/// detail is known.
pub fn openai_tile_tokens(image: Image) -> Option<u64> {
    if image.low_detail {
        return Some(OPENAI_BASE);
    }
    let (w, h) = image.size.filter(|(w, h)| *w > 0 && *h > 0)?;
    let (mut w, mut h) = (f64::from(w), f64::from(h));
    if w.max(h) > OPENAI_FIT {
        let s = OPENAI_FIT / w.max(h);
        (w, h) = ((w * s).round(), (h * s).round());
    }
    if w.min(h) > OPENAI_SHORT_SIDE {
        let s = OPENAI_SHORT_SIDE / w.min(h);
        (w, h) = ((w * s).round(), (h * s).round());
    }
    let tiles = (w / OPENAI_TILE).ceil() * (h / OPENAI_TILE).ceil();
    Some(OPENAI_BASE + OPENAI_PER_TILE * tiles as u64)
}

const ANTHROPIC_PIXELS_PER_TOKEN: f64 = 750.0;
const ANTHROPIC_LONG_EDGE: f64 = 1568.0;
const ANTHROPIC_MAX_TOKENS: f64 = 1600.0;

/// Anthropic's (width × height) / 750 after its resize: `None` without a
/// size.
pub fn anthropic_tokens(image: Image) -> Option<u64> {
    let (w, h) = image.size.filter(|(w, h)| *w > 0 && *h > 0)?;
    let (w, h) = (f64::from(w), f64::from(h));
    let by_edge = ANTHROPIC_LONG_EDGE / w.max(h);
    let by_tokens = (ANTHROPIC_MAX_TOKENS * ANTHROPIC_PIXELS_PER_TOKEN / (w * h)).sqrt();
    let s = by_edge.min(by_tokens).min(1.0);
    let (w, h) = if s < 1.0 {
        ((w * s).floor(), (h * s).floor())
    } else {
        (w, h)
    };
    Some((w * h / ANTHROPIC_PIXELS_PER_TOKEN).ceil() as u64)
}

/// The images of a set of conversations and their estimated tokens; the
/// same for every tokenizer (the providers count image tokens apart).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageEstimate {
    pub images: u64,
    /// Images whose size the record gave or whose data showed it.
    pub with_size: u64,
    /// Images sent at OpenAI's `detail: low` (85 tokens, size or not).
    pub low_detail: u64,
    /// OpenAI's tile rule (gpt-4o class) over the images it applies to.
    pub openai_tile_tokens: u64,
    /// Anthropic's (width × height) / 750 over the images with a size.
    pub anthropic_tokens: u64,
}

impl ImageEstimate {
    pub fn add(&mut self, image: Image) {
        self.images += 1;
        self.with_size += u64::from(image.size.is_some());
        self.low_detail += u64::from(image.low_detail);
        self.openai_tile_tokens += openai_tile_tokens(image).unwrap_or(0);
        self.anthropic_tokens += anthropic_tokens(image).unwrap_or(0);
    }

    pub fn merge(&mut self, other: &ImageEstimate) {
        self.images += other.images;
        self.with_size += other.with_size;
        self.low_detail += other.low_detail;
        self.openai_tile_tokens += other.openai_tile_tokens;
        self.anthropic_tokens += other.anthropic_tokens;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(w: u32, h: u32) -> Image {
        Image {
            size: Some((w, h)),
            low_detail: false,
        }
    }

    #[test]
    fn openai_matches_the_documented_examples() {
        // 1024 × 1024: under 2048; shorter side to 768 → 768 × 768, 2 × 2
        // tiles: 85 + 4 × 170.
        assert_eq!(openai_tile_tokens(sized(1024, 1024)), Some(765));
        // 2048 × 4096: fit to 1024 × 2048, then 768 × 1536: 2 × 3 tiles.
        assert_eq!(openai_tile_tokens(sized(2048, 4096)), Some(1105));
        // Low detail: 85, size known or not.
        let low = Image {
            size: Some((4096, 8192)),
            low_detail: true,
        };
        assert_eq!(openai_tile_tokens(low), Some(85));
        assert_eq!(
            openai_tile_tokens(Image {
                size: None,
                low_detail: true
            }),
            Some(85)
        );
        // Small images are not scaled up: 512 × 512 is one tile, 513 wide two.
        assert_eq!(openai_tile_tokens(sized(512, 512)), Some(255));
        assert_eq!(openai_tile_tokens(sized(513, 300)), Some(425));
        assert_eq!(openai_tile_tokens(Image::default()), None);
    }

    #[test]
    fn anthropic_matches_the_documented_examples() {
        assert_eq!(anthropic_tokens(sized(200, 200)), Some(54));
        assert_eq!(anthropic_tokens(sized(1000, 1000)), Some(1334));
        assert_eq!(anthropic_tokens(sized(1092, 1092)), Some(1590));
        // Over the long edge: 3136 × 784 halves to 1568 × 392 (819.6 tokens
        // then, under the token limit).
        assert_eq!(anthropic_tokens(sized(3136, 784)), Some(820));
        // A large square: 4000 → 1568 on the long edge, 1568² / 750 = 3278
        // tokens is over 1,600, so both sides scale by √(1600 × 750) / 1568
        // to 1095: ⌈1095² / 750⌉ = 1599.
        assert_eq!(anthropic_tokens(sized(4000, 4000)), Some(1599));
        assert_eq!(anthropic_tokens(Image::default()), None);
    }

    #[test]
    fn the_estimate_sums_what_each_rule_can_price() {
        let mut e = ImageEstimate::default();
        e.add(sized(1024, 1024));
        e.add(Image {
            size: None,
            low_detail: true,
        });
        e.add(Image::default());
        assert_eq!(
            e,
            ImageEstimate {
                images: 3,
                with_size: 1,
                low_detail: 1,
                openai_tile_tokens: 765 + 85,
                anthropic_tokens: 1399,
            }
        );
    }
}
