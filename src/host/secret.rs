//! `secret`: passwords asked for without echo, and the bcrypt hashes the
//! application stores — so that a password is never typed into SQL, a
//! shell history or a script. Every value asked for is masked in all that
//! runbook writes.

use rhai::plugin::*;

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod secret_functions {
    use crate::host::{error, HostResult};

    /// Ask for a secret: on a terminal without echo; otherwise one line of
    /// standard input (`printf '%s\n' "$PW" | runbook run …`), so scripts
    /// also run unattended. The value is masked (***) in every report and
    /// error from then on.
    ///
    /// *read-only*
    ///
    /// ```rhai,no_run
    /// let pw = secret::ask("New password for user@example.com");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn ask(prompt: &str) -> HostResult<String> {
        let _one = crate::output::asking();
        crate::report::release_held();
        let whose = crate::report::captured_title().map(|t| format!("[{t}] ")).unwrap_or_default();
        let prompt = format!("{whose}{prompt}");
        use std::io::{BufRead, IsTerminal};
        let value = if std::io::stdin().is_terminal() {
            rpassword::prompt_password(format!("{prompt}: ")).map_err(|e| error("secret::ask", e))?
        } else {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| error("secret::ask", e))?;
            line.trim_end_matches(['\n', '\r']).to_string()
        };
        if let Some(token) = crate::engine::context::ctx().interruption() {
            return Err(crate::engine::runtime::terminated(token));
        }
        if value.is_empty() {
            return Err(error("secret::ask", format!("{prompt}: nothing was given")));
        }
        crate::redact::add(&value);
        Ok(value)
    }

    /// The bcrypt hash of a password, as the application stores it
    /// (`$2b$12$…`, cost 12; each call salts anew). The hash is masked in
    /// everything runbook writes, dry-run lines and the history included.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// let h = secret::bcrypt("correct horse");
    /// assert(h.starts_with("$2b$12$") && secret::bcrypt_verify("correct horse", h), "hashed");
    /// ```
    #[rhai_fn(return_raw)]
    pub fn bcrypt(password: &str) -> HostResult<String> {
        let hash = bcrypt::hash(password, 12).map_err(|e| error("secret::bcrypt", e))?;
        // A hash can be cracked offline: it is masked like the password.
        crate::redact::add(&hash);
        Ok(hash)
    }

    /// The text with every secret runbook knows masked (`***`), in any of
    /// its forms (percent-encoded, Base64, another case). For a text a
    /// script cuts or transforms before it reaches the report, which would
    /// no longer contain the secret whole: mask first, then cut.
    ///
    /// *read-only*
    ///
    /// ```rhai
    /// assert(secret::mask("nothing secret") == "nothing secret", "unchanged");
    /// ```
    pub fn mask(text: &str) -> String {
        crate::redact::apply(text).into_owned()
    }

    /// Whether `password` matches a bcrypt `hash`.
    ///
    /// *read-only*
    #[rhai_fn(return_raw)]
    pub fn bcrypt_verify(password: &str, hash: &str) -> HostResult<bool> {
        bcrypt::verify(password, hash).map_err(|e| error("secret::bcrypt_verify", format!("not a bcrypt hash: {e}")))
    }
}
