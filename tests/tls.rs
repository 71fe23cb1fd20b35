//! `tls`: certificates served by TLS servers the tests start, and PEM
//! files on disk.

mod common;
use common::web::{closed_port, pki, serve_garbage, serve_tls};
use common::{printed, Sandbox};

const FIELDS: &str = r#"
fn show(c) {
    `days=${c.days_left} expired=${c.expired} chain=${c.chain_valid} host=${c.hostname_valid} valid=${c.valid} self=${c.self_signed} error=${c.error}`
}
"#;

#[test]
fn servers_certificates_are_described_and_judged_in_fields() {
    let pki = pki();
    let port = |n: &str| serve_tls(&pki.path(&format!("{n}.pem")), &pki.path(&format!("{n}.key")));
    let (valid, soon, expired, wrong, selfs) =
        (port("valid"), port("soon"), port("expired"), port("wrong"), port("self"));
    let sb = Sandbox::new();
    let out = sb.script(
        &format!(
            r#"{FIELDS}
let ca = #{{ca: "{ca}"}};
let v = tls::certificate("localhost:{valid}", ca);
print(show(v));
print(`${{v.subject}} | ${{v.issuer}} | ${{v.sans}} | ${{v.chain_length}} | ${{v.protocol}} | ${{type_of(v.not_after)}} | ${{v.serial.len() > 0}}`);
print(show(tls::certificate("localhost:{soon}", ca)));
print(show(tls::certificate("localhost:{expired}", ca)));
print(show(tls::certificate("localhost:{wrong}", ca)));
print(show(tls::certificate("localhost:{selfs}", ca)));
print(show(tls::certificate("localhost:{valid}")));
print(show(tls::certificate("127.0.0.1:{wrong}", #{{sni: "wrong.example.com", ca: "{ca}"}})));
"#,
            ca = pki.ca()
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        vec![
            "days=89 expired=false chain=true host=true valid=true self=false error=",
            r#"CN=localhost | CN=runbook test CA | ["localhost", "127.0.0.1"] | 2 | TLS 1.3 | Timestamp | true"#,
            "days=9 expired=false chain=true host=true valid=true self=false error=",
            "days=-2 expired=true chain=false host=true valid=false self=false error=certificate expired",
            "days=89 expired=false chain=true host=false valid=false self=false error=certificate is not valid for localhost (it names wrong.example.com)",
            "days=89 expired=false chain=false host=true valid=false self=true error=unknown issuer (self-signed, or signed by a CA that is not trusted)",
            "days=89 expired=false chain=false host=true valid=false self=false error=unknown issuer (self-signed, or signed by a CA that is not trusted)",
            "days=89 expired=false chain=true host=true valid=true self=false error=",
        ]
    );
}

#[test]
fn pem_files_are_described_too() {
    let pki = pki();
    let sb = Sandbox::new();
    sb.config(&format!("[fs]\nroots = [\"{}\"]\n", pki.dir.path().display()));
    let out = sb.script(
        &format!(
            r#"{FIELDS}
print(show(tls::certificate_file("{soon}", #{{ca: "{ca}", host: "localhost"}})));
print(show(tls::certificate_file("{expired}", #{{ca: "{ca}"}})));
print(show(tls::certificate_file("{selfs}")));
"#,
            soon = pki.path("soon.pem").display(),
            expired = pki.path("expired.pem").display(),
            selfs = pki.path("self.pem").display(),
            ca = pki.ca()
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        vec![
            "days=9 expired=false chain=true host=true valid=true self=false error=",
            "days=-2 expired=true chain=false host= valid=false self=false error=certificate expired",
            "days=89 expired=false chain=false host= valid=false self=true error=unknown issuer (self-signed, or signed by a CA that is not trusted)",
        ]
    );
    let key = sb.script(&format!(r#"tls::certificate_file("{}");"#, pki.path("valid.key").display()), &[]);
    assert!(key.stderr.contains("no PEM certificate in it"), "{}", key.stderr);
}

#[test]
fn no_tls_or_no_server_throws() {
    let garbage = serve_garbage();
    let closed = closed_port();
    let sb = Sandbox::new();
    let g = sb.script(&format!(r#"tls::certificate("127.0.0.1:{garbage}", #{{timeout: "2s"}});"#), &[]);
    assert!(
        g.stderr.contains(&format!("tls::certificate (127.0.0.1:{garbage}): TLS handshake failed")),
        "{}",
        g.stderr
    );
    let c = sb.script(&format!(r#"tls::certificate("127.0.0.1:{closed}");"#), &[]);
    assert!(c.stderr.contains("cannot connect"), "{}", c.stderr);
    let bad = sb.script(r#"tls::certificate("civicq.example.com:https");"#, &[]);
    assert!(bad.stderr.contains("give host:port"), "{}", bad.stderr);
}
