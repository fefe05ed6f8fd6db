//! `IntOrString` values that are either a count or a percentage of a total (maxSurge,
//! maxUnavailable, minAvailable), resolved as apimachinery's
//! `intstr.GetScaledValueFromIntOrPercent` does.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The value as written (`intstr.IntOrString.String()`): `8080`, `http`, `25%`.
pub fn text(value: &IntOrString) -> String {
    match value {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

/// The count `value` stands for out of `total`: an integer as is, `"N%"` as N% of `total`
/// rounded up or down. Anything else is an error naming what was expected.
pub fn scaled_value(value: &IntOrString, total: i32, round_up: bool) -> Result<i32, String> {
    match value {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(s) => {
            let percent: i64 = s.strip_suffix('%').and_then(|p| p.parse().ok()).ok_or_else(|| {
                "invalid value for IntOrString: invalid type: string is not a percentage".to_string()
            })?;
            let scaled = percent * i64::from(total);
            let v = if round_up { (scaled + 99).div_euclid(100) } else { scaled.div_euclid(100) };
            Ok(v as i32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_as_asked() {
        let p = |s: &str| IntOrString::String(s.into());
        assert_eq!(scaled_value(&p("25%"), 10, true), Ok(3));
        assert_eq!(scaled_value(&p("25%"), 10, false), Ok(2));
        assert_eq!(scaled_value(&p("0%"), 10, true), Ok(0));
        assert_eq!(scaled_value(&p("100%"), 7, false), Ok(7));
        assert_eq!(scaled_value(&IntOrString::Int(4), 10, false), Ok(4));
        assert!(scaled_value(&p("lots"), 10, false).is_err());
    }
}
