//! `tls`: certificates served by TLS servers the tests start, and PEM
//! files on disk.

mod common;
use common::web::{closed_port, pki, serve_garbage, serve_imap_starttls, serve_tls};
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
            "days=89 expired=false chain=false host=true valid=false self=true error=self-signed: the server's certificate is its own CA, and no trusted CA vouches for it (give `ca` to trust it)",
            "days=89 expired=false chain=false host=true valid=false self=false error=unknown issuer: no trusted CA signed the chain (a private CA needs `ca`; a server that leaves out its intermediate certificate needs its fullchain configured)",
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
            "days=89 expired=false chain=false host= valid=false self=true error=self-signed: the server's certificate is its own CA, and no trusted CA vouches for it (give `ca` to trust it)",
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
        g.stderr.contains(&format!(
            "tls::certificate (127.0.0.1:{garbage}): the server did not answer in TLS: is the port plain text first? (option `starttls`: \"postgres\", \"smtp\" or \"imap\")\n"
        )),
        "{}",
        g.stderr
    );
    // Told it is SMTP, the same server is asked for STARTTLS, which it never offers.
    let smtp =
        sb.script(&format!(r#"tls::certificate("127.0.0.1:{garbage}", #{{starttls: "smtp", timeout: "2s"}});"#), &[]);
    assert!(
        smtp.stderr.contains("the connection failed before TLS")
            || smtp.stderr.contains("closed the connection before TLS")
            || smtp.stderr.contains("the SMTP server refused EHLO"),
        "{}",
        smtp.stderr
    );
    let c = sb.script(&format!(r#"tls::certificate("127.0.0.1:{closed}");"#), &[]);
    assert!(c.stderr.contains("cannot connect"), "{}", c.stderr);
    let bad = sb.script(r#"tls::certificate("civicq.example.com:https");"#, &[]);
    assert!(bad.stderr.contains("give host:port"), "{}", bad.stderr);
}

#[test]
fn an_intermediate_that_expires_first_is_the_chains_days_left_and_warns() {
    let pki = pki();
    let port = serve_tls(&pki.path("chained.pem"), &pki.path("chained.key"));
    let sb = Sandbox::new();
    let out = sb.script(
        &format!(
            r#"{FIELDS}
let c = tls::certificate("localhost:{port}", #{{ca: "{ca}"}});
print(show(c));
print(`leaf=${{c.leaf_days_left}} first=${{c.expires_first}} leaf_first=${{c.expires_first_is_leaf}}`);
for l in c.chain {{ print(`${{l.subject}} by ${{l.issuer}}: ${{l.days_left}}`); }}
"#,
            ca = pki.ca()
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        vec![
            "days=2 expired=false chain=true host=true valid=true self=false error=",
            "leaf=59 first=CN=runbook test intermediate leaf_first=false",
            "CN=localhost by CN=runbook test intermediate: 59",
            "CN=runbook test intermediate by CN=runbook test CA: 2",
        ]
    );
    // A list of endpoints: one that is down is a ✗ of its own, and the
    // others are still checked.
    let closed = closed_port();
    let site = format!("site=localhost:{port},127.0.0.1:{closed}");
    let ca = format!("ca={}", pki.ca());
    let check = sb.run(&["run", "cert/check", "--arg", &site, "--arg", &ca, "--arg", "crit_days=1"]);
    assert_eq!(check.code, 2, "{}\n{}", check.stdout, check.stderr);
    assert!(
        check
            .stdout
            .contains(&format!("\n127.0.0.1:{closed}\n  ✗ tls::certificate (127.0.0.1:{closed}): cannot connect: ")),
        "{}",
        check.stdout
    );
    let expected_date = (chrono::Utc::now().date_naive() + chrono::Duration::days(3)).to_string();
    let leaf_date = (chrono::Utc::now().date_naive() + chrono::Duration::days(60)).to_string();
    assert!(
        check.stdout.contains(&format!(
            "  ! certificate_days_left: 2 days — CN=localhost, issued by CN=runbook test intermediate, expires {leaf_date}; CN=runbook test intermediate in the chain expires first, on {expected_date}  (warn ≤30, crit ≤1)\n"
        )),
        "{}",
        check.stdout
    );
}

#[test]
fn starttls_smtp_shows_the_mail_servers_certificate() {
    let port = common::service("RUNBOOK_TEST_SMTP_PORT");
    let ca = common::service("RUNBOOK_TEST_CA");
    let sb = Sandbox::new();
    let out = sb.script(
        &format!(
            r#"{FIELDS}
let c = tls::certificate("localhost:{port}", #{{starttls: "smtp", ca: "{ca}"}});
print(show(c));
print(`${{c.subject}} by ${{c.issuer}}`);
"#
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        printed(&out),
        vec![
            "days=29 expired=false chain=true host=true valid=true self=false error=",
            "CN=localhost by CN=runbook test CA"
        ]
    );
}

#[test]
fn starttls_imap_shows_the_servers_certificate() {
    let pki = pki();
    let port = serve_imap_starttls(&pki.path("valid.pem"), &pki.path("valid.key"));
    let sb = Sandbox::new();
    let out = sb.script(
        &format!(
            r#"let c = tls::certificate("localhost:{port}", #{{starttls: "imap", ca: "{ca}"}});
print(`${{c.subject}} valid=${{c.valid}}`);"#,
            ca = pki.ca()
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(printed(&out), ["CN=localhost valid=true"]);
}
