//! `mail`: messages through an `[smtp.NAME]` server (lettre), verified
//! TLS by default. Addresses are checked before any connection, so a typo
//! fails fast and names the address; `--dry-run` shows the message's
//! header and size instead of sending it.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rhai::plugin::*;
use rhai::{Dynamic, Map};

use crate::config::SmtpTarget;
use crate::engine::context::ctx;
use crate::engine::{guard, runtime};
use crate::host::opts::Opts;
use crate::host::{error, HostResult};

/// A message to send, as `mail::send` and `runbook run --mail-to` build it.
#[derive(Default)]
pub struct Outgoing {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    pub attachments: Vec<std::path::PathBuf>,
    pub from: Option<String>,
}

/// The `[smtp.NAME]` target: the one named, else `default`, else the
/// only one.
pub fn target(name: Option<&str>) -> Result<(String, SmtpTarget), String> {
    let all = &ctx().config.smtp;
    let pick = match name {
        Some(n) => n.to_string(),
        None if all.contains_key("default") => "default".into(),
        None if all.len() == 1 => all.keys().next().cloned().unwrap_or_default(),
        None if all.is_empty() => {
            return Err(format!("nothing to send mail through: {}", ctx().config.missing_target("smtp", "default")))
        }
        None => {
            return Err(format!(
                "several [smtp] targets ({}): name one with `smtp: \"NAME\"`, or call one `default`",
                all.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        }
    };
    match all.get(&pick) {
        Some(t) => Ok((pick, t.clone())),
        None => Err(ctx().config.missing_target("smtp", &pick)),
    }
}

fn mailboxes(key: &str, list: &[String]) -> Result<Vec<Mailbox>, String> {
    list.iter()
        .map(|a| a.trim().parse::<Mailbox>().map_err(|e| format!("`{key}`: \"{a}\" is not an email address ({e})")))
        .collect()
}

fn content_type_of(path: &std::path::Path) -> ContentType {
    let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let t = match ext.as_str() {
        "txt" | "log" => "text/plain; charset=utf-8",
        "csv" => "text/csv",
        "json" => "application/json",
        "html" => "text/html; charset=utf-8",
        "pdf" => "application/pdf",
        "gz" => "application/gzip",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    };
    ContentType::parse(t).unwrap_or(ContentType::TEXT_PLAIN)
}

/// Build the message; every address is checked here, before connecting.
pub fn build(t: &SmtpTarget, m: &Outgoing) -> Result<Message, String> {
    let from_text = m.from.clone().or(t.from.clone()).ok_or("no sender: set `from` in [smtp] or in the call")?;
    let from = mailboxes("from", &[from_text])?.remove(0);
    if m.to.is_empty() {
        return Err("`to`: no recipient".into());
    }
    let mut b = Message::builder().from(from).subject(m.subject.clone()).message_id(None);
    for a in mailboxes("to", &m.to)? {
        b = b.to(a);
    }
    for a in mailboxes("cc", &m.cc)? {
        b = b.cc(a);
    }
    let text = SinglePart::plain(m.body.clone());
    let main = match &m.html {
        Some(h) => MultiPart::alternative().singlepart(text).singlepart(SinglePart::html(h.clone())),
        None if m.attachments.is_empty() => return b.singlepart(text).map_err(|e| e.to_string()),
        None => MultiPart::mixed().singlepart(text),
    };
    let mut all = if m.html.is_some() && !m.attachments.is_empty() { MultiPart::mixed().multipart(main) } else { main };
    for p in &m.attachments {
        let bytes = crate::host::fs::open_beneath(p)
            .and_then(|mut f| {
                let mut v = vec![];
                std::io::Read::read_to_end(&mut f, &mut v).map(|_| v)
            })
            .map_err(|e| format!("attachment {}: {e}", p.display()))?;
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "attachment".into());
        all = all.singlepart(Attachment::new(name).body(bytes, content_type_of(p)));
    }
    b.multipart(all).map_err(|e| e.to_string())
}

fn is_local(host: &str) -> bool {
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// Send `msg` through the `[smtp.NAME]` target. The outer error is the
/// run's end (its deadline, Ctrl-C, SIGTERM), which a script cannot catch;
/// the inner one is the mail's own failure. `timeout` (the call's option,
/// else `[smtp] timeout`, else 10 s) bounds each step of the exchange, and
/// the whole of it at most three times that. Returns (message id, the
/// server's reply). Lettre applies no timeout
/// to the server's greeting, and a server that accepts and never answers
/// must not hang a run.
pub fn deliver(
    name: &str,
    t: &SmtpTarget,
    msg: Message,
    call_timeout: Option<Duration>,
) -> HostResult<Result<(String, String), String>> {
    macro_rules! fail {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return Ok(Err(e)),
            }
        };
    }
    use crate::config::SmtpSecurity;
    let port = t.port.unwrap_or(match t.security {
        SmtpSecurity::Tls => 465,
        SmtpSecurity::None => 25,
        SmtpSecurity::Starttls => 587,
    });
    let timeout = match (call_timeout, &t.timeout) {
        (Some(d), _) => d,
        (None, Some(t)) => t.value,
        (None, None) => Duration::from_secs(10),
    };
    let params = || -> Result<TlsParameters, String> {
        let mut p = TlsParameters::builder(t.host.clone());
        if let Some(ca) = &t.ca {
            let pem = std::fs::read(ca).map_err(|e| format!("[smtp.{name}] ca: cannot read {ca}: {e}"))?;
            p = p.add_root_certificate(Certificate::from_pem(&pem).map_err(|e| format!("[smtp.{name}] ca: {e}"))?);
        }
        p.build_rustls().map_err(|e| e.to_string())
    };
    let tls = match t.security {
        SmtpSecurity::Starttls => Tls::Required(fail!(params())),
        SmtpSecurity::Tls => Tls::Wrapper(fail!(params())),
        SmtpSecurity::None if is_local(&t.host) => Tls::None,
        SmtpSecurity::None => {
            return Ok(Err(format!(
                "[smtp.{name}] security = \"none\" is only allowed towards localhost, not {}: use starttls or tls",
                t.host
            )))
        }
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(t.host.clone())
        .port(port)
        .tls(tls)
        .timeout(Some(timeout));
    if let Some(user) = &t.username {
        let pw = t.password.clone().unwrap_or_default();
        crate::redact::add(&pw);
        b = b.credentials(Credentials::new(user.clone(), pw));
    }
    let transport = b.build();
    let message_id = msg
        .headers()
        .get_raw("Message-ID")
        .map(|v| v.trim().trim_start_matches('<').trim_end_matches('>').to_string())
        .unwrap_or_default();
    // Three steps' worth, and time to send the message at 64 KiB/s: a large
    // attachment over a slow link is not a silent server.
    let whole = timeout.saturating_mul(3) + Duration::from_secs((msg.formatted().len() / (64 << 10)) as u64);
    let reply = match runtime::block_on(async move { tokio::time::timeout(whole, transport.send(msg)).await })? {
        Ok(Ok(reply)) => reply,
        Ok(Err(e)) => return Ok(Err(explain(&t.host, port, &e))),
        Err(_) => {
            return Ok(Err(crate::redact::apply(&format!(
                "{}:{port}: no answer in time: the exchange did not finish within {} (3 × the timeout of {}, and time for the message's size); is the server answering at all?",
                t.host,
                crate::duration::format(whole),
                crate::duration::format(timeout)
            ))
            .into_owned()))
        }
    };
    Ok(Ok((message_id, reply.message().collect::<Vec<_>>().join(" "))))
}

fn explain(host: &str, port: u16, e: &lettre::transport::smtp::Error) -> String {
    let chain = crate::host::error_chain(e);
    let what = if chain.contains("Connection refused") {
        "connection refused: is the mail server up?".to_string()
    } else if e.is_permanent() && (chain.contains("535") || chain.to_lowercase().contains("auth")) {
        format!("authentication failed: {chain}")
    } else if e.is_timeout() {
        format!("no answer in time ({chain})")
    } else {
        chain
    };
    crate::redact::apply(&format!("{host}:{port}: {what}")).into_owned()
}

fn strings(func: &str, key: &str, v: Option<&Dynamic>) -> HostResult<Vec<String>> {
    match v.filter(|v| !v.is_unit()) {
        None => Ok(vec![]),
        Some(v) if v.is_string() => {
            Ok(v.to_string().split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        }
        Some(v) => match v.clone().try_cast::<rhai::Array>() {
            Some(a) => Ok(a.iter().map(|x| x.to_string()).collect()),
            None => Err(error(func, format!("option `{key}` must be an address or an array of addresses"))),
        },
    }
}

pub fn send(map: Map) -> HostResult<Map> {
    const F: &str = "mail::send";
    let o = Opts::new(F, &map)?;
    let timeout = o.duration("timeout")?;
    let mut attachments = vec![];
    for a in strings(F, "attachments", map.get("attachments"))? {
        attachments.push(crate::host::fs::confine(F, &a)?);
    }
    let out = Outgoing {
        to: strings(F, "to", map.get("to"))?,
        cc: strings(F, "cc", map.get("cc"))?,
        subject: o.str("subject")?.ok_or_else(|| error(F, "`subject` is missing"))?,
        body: o.str("body")?.unwrap_or_default(),
        html: o.str("html")?,
        attachments,
        from: o.str("from")?,
    };
    let (name, t) = target(o.str("smtp")?.as_deref()).map_err(|e| error(F, e))?;
    let who = format!("{F} ({name})");
    let msg = build(&t, &out).map_err(|e| error(&who, e))?;
    let size = msg.formatted().len();
    if !guard::mutating(|| {
        format!(
            "send mail \"{}\" to {}{} ({} bytes) through {}",
            out.subject,
            out.to.join(", "),
            if out.cc.is_empty() { String::new() } else { format!(", cc {}", out.cc.join(", ")) },
            size,
            name
        )
    }) {
        let mut m = Map::new();
        m.insert("dry_run".into(), Dynamic::from_bool(true));
        m.insert("bytes".into(), Dynamic::from_int(size as i64));
        return Ok(m);
    }
    let (id, reply) = deliver(&name, &t, msg, timeout)?.map_err(|e| error(&who, e))?;
    let mut m = Map::new();
    m.insert("message_id".into(), Dynamic::from(id));
    m.insert("server_reply".into(), Dynamic::from(reply));
    m.insert("bytes".into(), Dynamic::from_int(size as i64));
    Ok(m)
}

#[export_module]
#[allow(
    clippy::unwrap_used,
    reason = "rhai's export_module unwraps the lock of a `&mut` argument it has already type-checked"
)]
pub mod mail_functions {
    use rhai::Map;

    use crate::host::HostResult;

    /// Send a message: `#{to, cc, subject, body, html, attachments, from,
    /// smtp, timeout}` — `to`/`cc` an address or an array, `attachments`
    /// paths inside `[fs] roots`, `smtp` the `[smtp.NAME]` target (default:
    /// the one called `default`, or the only one), `timeout` for each step
    /// of the exchange (default `[smtp] timeout`, else 10s; the whole
    /// exchange gets at most three times it). Every address is checked
    /// before connecting. Returns `#{message_id, server_reply, bytes}`.
    ///
    /// *mutating* (`--dry-run` shows the header and size instead)
    ///
    /// ```rhai,no_run
    /// mail::send(#{to: "admin@example.com", subject: "Certificate expires in 12 days",
    ///              body: "Run: runbook run cert/renew"});
    /// ```
    #[rhai_fn(return_raw)]
    pub fn send(options: Map) -> HostResult<Map> {
        super::send(options)
    }
}
