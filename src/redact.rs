//! The one redactor. Every secret the program learns (config passwords and
//! tokens, credentials inside URLs, values marked `{ secret = … }`) is
//! registered here, and every byte the program writes passes through
//! [`apply`]: report, errors, JSON, `--output` files, mail, history.

use std::borrow::Cow;
use std::sync::RwLock;

/// Every registered secret in every form it may be written in, ASCII
/// lower-cased: matching ignores ASCII case.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

pub const MASK: &str = "***";

/// The forms a secret takes on its way out: as it is, percent-encoded (a
/// URL), escaped as JSON and Prometheus escape it, in Base64 (HTTP basic
/// auth, a config blob), and in the Unicode case changes ASCII matching
/// does not cover.
fn forms(secret: &str) -> Vec<String> {
    use base64::Engine;
    let json = serde_json::to_string(secret).unwrap_or_default();
    let mut out = vec![
        secret.to_string(),
        percent_encode(secret),
        json[1..json.len().saturating_sub(1).max(1)].to_string(),
        base64::engine::general_purpose::STANDARD.encode(secret),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(secret),
        secret.to_lowercase(),
        secret.to_uppercase(),
    ];
    out.iter_mut().for_each(|f| f.make_ascii_lowercase());
    out.retain(|f| f.len() >= 4);
    out
}

/// Register a secret. Very short values are ignored: masking every "a" in
/// the output would destroy it without protecting anything.
pub fn add(secret: &str) {
    if secret.len() < 4 {
        return;
    }
    let mut list = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for variant in forms(secret) {
        if !list.contains(&variant) {
            list.push(variant);
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Register the `user:password` pair of HTTP basic auth, whose Base64 form
/// is what an Authorization header quotes.
pub fn add_basic_auth(user: &str, password: &str) {
    use base64::Engine;
    add(password);
    if password.len() >= 4 {
        let pair = format!("{user}:{password}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&pair).to_ascii_lowercase();
        let mut list = SECRETS.write().unwrap_or_else(|e| e.into_inner());
        if !list.contains(&b64) {
            list.push(b64);
        }
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// The text with every registered secret, in any of its forms and any
/// ASCII case, replaced by `***`.
pub fn apply(text: &str) -> Cow<'_, str> {
    let list = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if list.is_empty() {
        return Cow::Borrowed(text);
    }
    // ASCII lower-casing keeps every byte offset, so a match in `lower` is
    // the same range of `text`.
    let lower = text.to_ascii_lowercase();
    let mut hits: Vec<(usize, usize)> = Vec::new();
    for s in list.iter() {
        hits.extend(lower.match_indices(s.as_str()).map(|(i, m)| (i, i + m.len())));
    }
    if hits.is_empty() {
        return Cow::Borrowed(text);
    }
    hits.sort();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in hits {
        if end <= at {
            continue;
        }
        if start >= at {
            out.push_str(&text[at..start]);
            out.push_str(MASK);
        }
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// [`apply`] to a string in place (the report model's texts).
pub fn in_place(s: &mut String) {
    if let Cow::Owned(m) = apply(s) {
        *s = m;
    }
}

/// Register the password of a URL such as `postgres://user:pw@host/db`.
pub fn add_url_credentials(value: &str) {
    if let Some(pw) = url_password(value) {
        let user = value
            .split_once("://")
            .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
            .and_then(|a| a.rsplit_once('@'))
            .and_then(|(ui, _)| ui.split_once(':'))
            .map(|(u, _)| percent_decode(u))
            .unwrap_or_default();
        add_basic_auth(&user, &pw);
    }
}

/// The (percent-decoded) password inside a URL such as `postgres://u:pw@h/db`.
pub fn url_password(value: &str) -> Option<String> {
    let rest = value.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let pw = userinfo.split_once(':')?.1;
    (!pw.is_empty()).then(|| percent_decode(pw))
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_registered_secrets_and_url_passwords() {
        add("hunter2-secret");
        add_url_credentials("postgres://civicq:p%40ss-word@db:5432/civicq");
        assert_eq!(apply("pw=hunter2-secret!"), "pw=***!");
        assert_eq!(apply("login p@ss-word failed"), "login *** failed");
        assert_eq!(apply("url postgres://civicq:p%40ss-word@db"), "url postgres://civicq:***@db");
        assert_eq!(apply("nothing here"), "nothing here");
    }

    #[test]
    fn masks_escaped_encoded_and_case_changed_forms() {
        add("Tab\tQuote\"Back\\slash-ü");
        add_basic_auth("ops", "basic-pw-1234");
        for (text, want) in [
            (r#"{"v":"Tab\tQuote\"Back\\slash-ü"}"#, r#"{"v":"***"}"#),
            ("TAB\tQUOTE\"BACK\\SLASH-Ü!", "***!"),
            ("Authorization: Basic b3BzOmJhc2ljLXB3LTEyMzQ=", "Authorization: Basic ***"),
            ("x=BASIC-PW-1234", "x=***"),
            ("q=basic-pw-1234&z", "q=***&z"),
        ] {
            assert_eq!(apply(text), want, "{text}");
        }
    }
}
