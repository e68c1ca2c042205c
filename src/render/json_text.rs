//! Compact JSON text as the model saw it in training.
//!
//! The prompts gpt-oss was trained on print JSON values (schema defaults,
//! response-format schemas) the way serde_json did with its `ryu` float
//! formatter: the shortest digits that round-trip, written in plain decimal
//! with a `.0` when the decimal point falls within the first 17 places
//! (`1000000000000000.0`, `0.000015`), and otherwise in scientific notation
//! with no `+` on the exponent (`1e16`, `2.5e30`, `1e-7`, `-9.99e22`).
//! Current serde_json writes `1e+16`, so floats are formatted here; strings
//! and integers are written by serde_json, whose output for them never
//! changed.

use serde_json::{Number, Value};

/// `value` as compact JSON (no spaces), floats as described above.
pub(crate) fn json_text(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    // Serializing a `str` cannot fail; the fallback is never taken.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

/// A JSON number: integers as written, floats by [`float_text`].
pub(crate) fn number_text(n: &Number) -> String {
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    match n.as_f64() {
        Some(f) => float_text(f),
        None => n.to_string(),
    }
}

/// A float in the layout of `ryu`'s pretty formatter (see the module
/// documentation). Non-finite values, which JSON cannot hold, are `null`.
pub(crate) fn float_text(f: f64) -> String {
    if !f.is_finite() {
        return "null".to_string();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    // `{:e}` writes the shortest round-trip digits as `d.ddde[-]x`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let n = digits.len() as i32;
    // The decimal point falls after `point` digits (negative: before them).
    let point = exp + 1;
    let body = if n <= point && point <= 16 {
        format!("{digits}{}.0", "0".repeat((point - n) as usize))
    } else if 0 < point && point <= 16 {
        let (int, frac) = digits.split_at(point as usize);
        format!("{int}.{frac}")
    } else if -5 < point && point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if n == 1 {
        format!("{digits}e{exp}")
    } else {
        let (first, rest) = digits.split_at(1);
        format!("{first}.{rest}e{exp}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_the_reference_prints_them() {
        let cases: &[(f64, &str)] = &[
            (1e15, "1000000000000000.0"),
            (1e16, "1e16"),
            (1e17, "1e17"),
            (1e21, "1e21"),
            (1e22, "1e22"),
            (1.5e-5, "0.000015"),
            (1e-5, "0.00001"),
            (1e-6, "1e-6"),
            (1e-7, "1e-7"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e308"),
            (18446744073709551616.0, "1.8446744073709552e19"),
            (-9223372036854775809.0, "-9.223372036854776e18"),
            (1e20, "1e20"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e16"),
            (2.5e30, "2.5e30"),
            (-9.99e22, "-9.99e22"),
            (1.234e-10, "1.234e-10"),
            (123456789.0, "123456789.0"),
        ];
        for (f, want) in cases {
            assert_eq!(float_text(*f), *want, "{f:e}");
        }
    }

    #[test]
    fn nested_values_are_compact() {
        let v: Value =
            serde_json::from_str(r#"{"k":[1e16,-0.0,"s\n",true,null,18446744073709551615,-5]}"#).expect("json");
        assert_eq!(json_text(&v), r#"{"k":[1e16,-0.0,"s\n",true,null,18446744073709551615,-5]}"#);
    }
}
