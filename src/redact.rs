//! The one redactor. Every secret the program learns (config passwords and
//! tokens, credentials inside URLs, values marked `{ secret = … }`) is
//! registered here, and every byte the program writes passes through
//! [`apply`]: report, errors, JSON, `--output` files, mail, history.

use std::borrow::Cow;
use std::sync::RwLock;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

pub const MASK: &str = "***";

/// Register a secret. Very short values are ignored: masking every "a" in
/// the output would destroy it without protecting anything.
pub fn add(secret: &str) {
    if secret.len() < 4 {
        return;
    }
    let mut list = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for variant in [secret.to_string(), percent_encode(secret)] {
        if !list.contains(&variant) {
            list.push(variant);
        }
    }
    // Longest first, so a secret that contains another is masked whole.
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// The text with every registered secret replaced by `***`.
pub fn apply(text: &str) -> Cow<'_, str> {
    let list = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    if list.is_empty() || !list.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in list.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    Cow::Owned(out)
}

/// Register the password of a URL such as `postgres://user:pw@host/db`.
pub fn add_url_credentials(value: &str) {
    if let Some(pw) = url_password(value) {
        add(&pw);
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
}
