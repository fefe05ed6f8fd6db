//! Resource quantities (`500m`, `1.5`, `256Mi`, `1G`, `2e3`) parsed exactly as Kubernetes'
//! `resource.ParseQuantity` does (k8s.io/apimachinery/pkg/api/resource/quantity.go).
//!
//! A quantity is kept as an exact decimal (`mantissa × 10^exp10 × 2^exp2`), so `0.1` CPU is
//! exactly 100 millicores. [`Quantity::milli_value`] and [`Quantity::value`] round *up*, like
//! upstream's `MilliValue()` and `Value()`: `1.0001m` is 2 millicores, `0.5` bytes is 1 byte.

use std::fmt;

/// The format Kubernetes prints in its parse error.
pub const QUANTITY_REGEX: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// An exact parsed quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    exp10: i32,
    exp2: u32,
}

/// A string that is not a Kubernetes quantity.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("quantities must match the regular expression '{QUANTITY_REGEX}'")]
    Format,
    #[error("quantity {0:?} is too large")]
    TooLarge(String),
}

impl Quantity {
    pub fn parse(text: &str) -> Result<Quantity, QuantityError> {
        let s = text.trim();
        let bytes = s.as_bytes();
        let mut i = 0;
        let mut negative = false;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            negative = bytes[i] == b'-';
            i += 1;
        }
        let mut mantissa: i128 = 0;
        let mut exp10: i32 = 0;
        let mut digits = 0;
        let mut seen_dot = false;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            if bytes[i] == b'.' {
                if seen_dot {
                    return Err(QuantityError::Format);
                }
                seen_dot = true;
            } else {
                digits += 1;
                if mantissa > i128::MAX / 100 {
                    return Err(QuantityError::TooLarge(text.to_string()));
                }
                mantissa = mantissa * 10 + i128::from(bytes[i] - b'0');
                if seen_dot {
                    exp10 -= 1;
                }
            }
            i += 1;
        }
        if digits == 0 {
            return Err(QuantityError::Format);
        }
        let (suffix_exp10, exp2) = match &s[i..] {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            other => {
                // Decimal exponent: e3, E-2, e+6.
                let rest = other
                    .strip_prefix('e')
                    .or_else(|| other.strip_prefix('E'))
                    .ok_or(QuantityError::Format)?;
                let unsigned = rest.strip_prefix(['+', '-']).unwrap_or(rest);
                if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(QuantityError::Format);
                }
                let e: i32 = rest.parse().map_err(|_| QuantityError::TooLarge(text.to_string()))?;
                if !(-30..=30).contains(&e) {
                    return Err(QuantityError::TooLarge(text.to_string()));
                }
                (e, 0)
            }
        };
        if negative {
            mantissa = -mantissa;
        }
        Ok(Quantity { mantissa, exp10: exp10 + suffix_exp10, exp2 })
    }

    /// The value scaled by `10^scale` and rounded up (towards +∞), saturating at i64 bounds.
    fn scaled_ceil(&self, scale: i32) -> i64 {
        let mut num: i128 = self.mantissa;
        let mut den: i128 = 1;
        let e = self.exp10 + scale;
        let pow = |n: i32| -> Option<i128> { 10i128.checked_pow(n as u32) };
        if e >= 0 {
            match pow(e).and_then(|p| num.checked_mul(p)) {
                Some(v) => num = v,
                None => return if num < 0 { i64::MIN } else { i64::MAX },
            }
        } else {
            match pow(-e) {
                Some(p) => den = p,
                None => return if num > 0 { 1 } else { 0 },
            }
        }
        match num.checked_mul(1i128 << self.exp2) {
            Some(v) => num = v,
            None => return if num < 0 { i64::MIN } else { i64::MAX },
        }
        let q = num.div_euclid(den) + i128::from(num.rem_euclid(den) != 0);
        q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// Value in thousandths, rounded up (upstream `MilliValue()`): CPU in millicores.
    pub fn milli_value(&self) -> i64 {
        self.scaled_ceil(3)
    }

    /// Whole value rounded up (upstream `Value()`): memory and storage in bytes, pods.
    pub fn value(&self) -> i64 {
        self.scaled_ceil(0)
    }

    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", format_milli(self.milli_value()))
    }
}

/// Formats millicores the way `kubectl describe` shows CPU: `250m`, `2`, `1500m`.
pub fn format_milli(milli: i64) -> String {
    if milli % 1000 == 0 {
        format!("{}", milli / 1000)
    } else {
        format!("{milli}m")
    }
}

/// Formats bytes with the largest binary suffix that divides them exactly: `256Mi`, `8Gi`.
pub fn format_bytes(bytes: i64) -> String {
    for (suffix, shift) in [("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)] {
        let unit = 1i64 << shift;
        if bytes != 0 && bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn milli(s: &str) -> i64 {
        Quantity::parse(s).unwrap().milli_value()
    }
    fn value(s: &str) -> i64 {
        Quantity::parse(s).unwrap().value()
    }

    #[test]
    fn cpu_forms() {
        assert_eq!(milli("500m"), 500);
        assert_eq!(milli("1.5"), 1500);
        assert_eq!(milli("0.1"), 100);
        assert_eq!(milli("2"), 2000);
        assert_eq!(milli("100u"), 1); // rounds up, as MilliValue does
        assert_eq!(milli("1n"), 1);
        assert_eq!(milli("0"), 0);
        assert_eq!(milli("+3"), 3000);
        assert_eq!(milli(".5"), 500);
    }

    #[test]
    fn memory_forms() {
        assert_eq!(value("256Mi"), 256 * 1024 * 1024);
        assert_eq!(value("8Gi"), 8 << 30);
        assert_eq!(value("1G"), 1_000_000_000);
        assert_eq!(value("2e3"), 2000);
        assert_eq!(value("2E3"), 2000);
        assert_eq!(value("1.5Gi"), 1_610_612_736);
        assert_eq!(value("128974848"), 128_974_848);
        assert_eq!(value("129e6"), 129_000_000);
        assert_eq!(value("123Mi"), 128_974_848);
        assert_eq!(value("1k"), 1000);
        assert_eq!(value("1Ki"), 1024);
        assert_eq!(value("0.5"), 1); // Value() rounds up
        assert_eq!(value("1e-3"), 1);
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "abc", "1.2.3", "Mi", "1Mb", "1 Gi", "--1", "1e", "1KiB", "."] {
            assert_eq!(Quantity::parse(bad), Err(QuantityError::Format), "{bad:?}");
        }
    }

    #[test]
    fn negative_and_saturating() {
        assert!(Quantity::parse("-1").unwrap().is_negative());
        assert_eq!(value("9Ei"), i64::MAX); // 9·2^60 > i64::MAX saturates
    }

    #[test]
    fn formatting() {
        assert_eq!(format_milli(250), "250m");
        assert_eq!(format_milli(2000), "2");
        assert_eq!(format_bytes(256 << 20), "256Mi");
        assert_eq!(format_bytes(1000), "1000");
    }
}
