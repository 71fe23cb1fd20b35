//! Durations as operators write them: "500ms", "90s", "15m", "2h", "7d",
//! "1w", and sums such as "1h30m". A bare number means seconds.

use std::time::Duration;

/// A duration as the operator wrote it, parsed once where it enters (a
/// `runbook.toml` key, a flag): `value` for the code, `text` for messages.
/// A bad one is refused there, naming the key or the flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub value: Duration,
    pub text: String,
}

impl std::str::FromStr for Written {
    type Err = String;
    fn from_str(text: &str) -> Result<Written, String> {
        Ok(Written { value: parse(text)?, text: text.trim().to_string() })
    }
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Written {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Written, D::Error> {
        // "90s", or a bare number of seconds (`timeout = 30`).
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Seconds(u64),
        }
        let text = match Raw::deserialize(d).map_err(|_: D::Error| {
            serde::de::Error::custom("expected a duration such as \"90s\", \"15m\", \"7d\" (or a number of seconds)")
        })? {
            Raw::Text(t) => t,
            Raw::Seconds(n) => n.to_string(),
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The longest duration accepted: a thousand years. Longer ones are typos
/// (`99999999999d`), and they overflowed the date arithmetic downstream.
pub const MAX: Duration = Duration::from_secs(1000 * 365 * 86_400 + 250 * 86_400);

pub fn parse(text: &str) -> Result<Duration, String> {
    let d = parse_any(text)?;
    if d > MAX {
        return Err(format!("duration `{}` is longer than 1000 years: is there a typo?", text.trim()));
    }
    Ok(d)
}

fn parse_any(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration: write e.g. \"90s\", \"15m\", \"7d\"".into());
    }
    if let Ok(secs) = t.parse::<f64>() {
        return if secs >= 0.0 && secs.is_finite() {
            Ok(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
        } else {
            Err(format!("invalid duration `{text}`: it must not be negative"))
        };
    }
    let mut total_ms: f64 = 0.0;
    let mut rest = t;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(bad(text));
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad(text))?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" | "sec" | "secs" => 1_000.0,
            "m" | "min" | "mins" => 60_000.0,
            "h" | "hr" | "hrs" => 3_600_000.0,
            "d" | "day" | "days" => 86_400_000.0,
            "w" | "week" | "weeks" => 604_800_000.0,
            _ => return Err(bad(text)),
        };
        total_ms += n * unit_ms;
        rest = &rest[unit_len..];
    }
    // `as u64` saturates: a sum too long for it is caught by the cap.
    Ok(Duration::from_micros((total_ms * 1000.0).round() as u64))
}

fn bad(text: &str) -> String {
    format!("invalid duration `{text}`: write a number and a unit (ms, s, m, h, d, w), e.g. \"90s\", \"15m\", \"7d\", \"1h30m\"")
}

/// The compact form that [`parse`] reads back: "1h30m", "7d", "250ms".
pub fn format(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400_000u128), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1)] {
        if ms >= size {
            out.push_str(&format!("{}{}", ms / size, unit));
            ms %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_operators_write() {
        assert_eq!(parse("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("30").unwrap(), Duration::from_secs(30));
        assert!(parse("7 parsecs").unwrap_err().contains("invalid duration `7 parsecs`"));
        assert!(parse("").is_err());
        assert!(parse("-3").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for s in ["1h30m", "7d", "250ms", "1d2h3m4s5ms"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }
}
