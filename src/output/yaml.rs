//! YAML as kubectl prints it (`-o yaml`): sigs.k8s.io/yaml turns the object's JSON into YAML
//! with go-yaml v2, so map keys come sorted, two-space indentation with list items at their
//! key's level, and a string that would read back as something else (a number, a boolean,
//! null, a timestamp, an empty string, one starting with an indicator) in double quotes —
//! `resourceVersion: "90"`, `creationTimestamp: "2025-01-01T00:00:00Z"`. Multi-line strings are
//! literal blocks (`|` or `|-`).

use std::fmt::Write as _;

use serde_json::Value;

/// The document for `value` (a JSON object), ending with a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other, 0));
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, level: usize) {
    for (k, v) in m {
        indent(out, level);
        out.push_str(&string(k, level));
        out.push(':');
        write_value_after_key(out, v, level);
    }
}

/// A value after `key:` — nested collections on the next lines, scalars after a space.
fn write_value_after_key(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, level + 2);
        }
        // go-yaml v2 puts a list under a key at the key's own indentation.
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, level);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other, level + 2));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, a: &[Value], level: usize) {
    for v in a {
        indent(out, level);
        out.push('-');
        match v {
            Value::Object(m) if !m.is_empty() => {
                // The first key on the dash's line, the rest aligned under it.
                let mut first = true;
                for (k, item) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(out, level + 2);
                    }
                    out.push_str(&string(k, level + 2));
                    out.push(':');
                    write_value_after_key(out, item, level + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                write_seq(out, inner, level + 2);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other, level + 2));
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value, level: usize) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s, level),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as go-yaml v2 writes it: plain when it reads back as the same string, in double
/// quotes otherwise, a literal block when it has line breaks.
fn string(s: &str, level: usize) -> String {
    if s.contains('\n') && !s.contains('\r') && !s.ends_with(' ') && !s.starts_with(' ') {
        let chomp = if s.ends_with('\n') { "" } else { "-" };
        let mut out = format!("|{chomp}");
        for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
            out.push('\n');
            if !line.is_empty() {
                indent(&mut out, level);
                out.push_str(line);
            }
        }
        return out;
    }
    if needs_quotes(s) {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\x{:02X}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
        return out;
    }
    s.to_string()
}

/// Whether a plain scalar would not read back as this string (YAML 1.1 resolution, as
/// go-yaml v2 checks it) or cannot be written plain.
fn needs_quotes(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return true;
    }
    const SPECIAL: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "false", "False",
        "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~", ".inf", ".Inf", ".INF",
        "-.inf", ".nan", ".NaN", ".NAN", "<<", "=",
    ];
    if SPECIAL.contains(&s) {
        return true;
    }
    let first = s.chars().next().expect("not empty");
    let indicator = "-?:,[]{}#&*!|>'\"%@`".contains(first);
    // A dash followed by more text (`-c`) is a plain scalar; a lone dash or `- x` is not.
    let plain_dash = first == '-' && s.len() > 1 && !s.starts_with("- ") && !looks_numeric(s);
    if indicator && !plain_dash {
        return true;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\t') {
        return true;
    }
    looks_numeric(s) || looks_like_timestamp(s)
}

/// An int or float in YAML 1.1 (decimal, with `_`, octal, hex, sexagesimal, exponent).
fn looks_numeric(s: &str) -> bool {
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    if let Some(hex) = t.strip_prefix("0x") {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit() || c == '_');
    }
    let digits_etc =
        t.chars().all(|c| c.is_ascii_digit() || matches!(c, '_' | '.' | 'e' | 'E' | '+' | '-' | ':'));
    digits_etc && t.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.') && t.parse::<f64>().is_ok()
        || t.chars().all(|c| c.is_ascii_digit() || c == '_') && t.chars().any(|c| c.is_ascii_digit())
}

/// `2025-01-01`, `2025-01-01T00:00:00Z` and the like.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_would_read_back_as_something_else() {
        let v = serde_json::json!({
            "resourceVersion": "90",
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "name": "web",
            "ready": "True",
            "empty": "",
            "image": "nginx:1.27",
            "cmd": ["sleep", "3600"],
            "labels": {"app": "web"},
            "count": 3,
            "none": {},
        });
        let y = to_yaml(&v);
        for want in [
            "resourceVersion: \"90\"\n",
            "creationTimestamp: \"2025-01-01T00:00:00Z\"\n",
            "name: web\n",
            "ready: \"True\"\n",
            "empty: \"\"\n",
            "image: nginx:1.27\n",
            "cmd:\n- sleep\n- \"3600\"\n",
            "labels:\n  app: web\n",
            "count: 3\n",
            "none: {}\n",
        ] {
            assert!(y.contains(want), "missing {want:?} in:\n{y}");
        }
        // And it is YAML that reads back to the same value.
        let back: Value = serde_yaml::from_str(&y).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn lists_of_maps_and_multi_line_strings() {
        let v = serde_json::json!({"containers": [{"name": "c", "args": ["-c", "echo hi\nexit 1"]}], "key": "a\nb\n"});
        let y = to_yaml(&v);
        assert!(
            y.contains("containers:\n- args:\n  - -c\n  - |-\n    echo hi\n    exit 1\n  name: c\n"),
            "{y}"
        );
        assert!(y.contains("key: |\n  a\n  b\n"), "{y}");
        let back: Value = serde_yaml::from_str(&y).unwrap();
        assert_eq!(back, v);
    }
}
