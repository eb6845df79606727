/*!
Numbers and money written for people, shared by the price stage (its check
messages) and every report format, so that `$1,234.57` and `1,234,567` read
the same everywhere and neither stage reaches into the other for them.
*/

use rust_decimal::Decimal;

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    group_digits(&n.to_string())
}

/// Puts a comma between groups of three digits of an unsigned integer
/// written in decimal: `"1234567"` → `"1,234,567"`.
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Bytes in binary units, e.g. `1.5 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// Writes a money amount for people: `$1,234.57` (rounded to cents, or to
/// four decimals under a dollar so small costs do not show as $0.00).
pub fn format_usd(amount: Decimal) -> String {
    let dp = if amount.abs() < Decimal::ONE && !amount.is_zero() {
        4
    } else {
        2
    };
    let rounded =
        amount.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let s = format!("{:.*}", dp as usize, rounded.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let grouped = group_digits(int);
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    format!("{sign}${grouped}.{frac}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn usd_formatting_groups_thousands_and_keeps_small_amounts_visible() {
        assert_eq!(
            format_usd(Decimal::from_str("1234567.005").unwrap()),
            "$1,234,567.01"
        );
        assert_eq!(format_usd(Decimal::from_str("0.00125").unwrap()), "$0.0013");
        assert_eq!(format_usd(Decimal::ZERO), "$0.00");
        assert_eq!(format_usd(Decimal::from(100)), "$100.00");
    }

    #[test]
    fn digits_are_grouped_by_three_and_bytes_in_binary_units() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
