//! `mail`: through the aiosmtpd server dev/services.sh starts (STARTTLS
//! required, AUTH), reading back what it received.

mod common;
use common::web::closed_port;
use common::{printed, service, Sandbox};

fn smtp_config(sb: &Sandbox, port: &str, password: &str) {
    sb.config(&format!(
        "[smtp.default]\nhost = \"localhost\"\nport = {port}\nsecurity = \"starttls\"\nusername = \"runbook\"\npassword = \"{password}\"\nfrom = \"runbook <runbook@example.com>\"\nca = \"{ca}\"\ntimeout = \"5s\"\n\n[fs]\nroots = [\"{root}\"]\n",
        ca = service("RUNBOOK_TEST_CA"),
        root = sb.path().display()
    ));
}

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    smtp_config(&sb, &service("RUNBOOK_TEST_SMTP_PORT"), "smtp-test-pw");
    sb
}

/// The received message whose Subject is `subject`, if any.
fn received(subject: &str) -> Option<String> {
    let dir = service("RUNBOOK_TEST_SMTP_DIR");
    for _ in 0..20 {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.path().extension().is_some_and(|x| x == "eml") {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                if text.contains(&format!("Subject: {subject}\r\n")) || text.contains(&format!("Subject: {subject}\n"))
                {
                    return Some(text);
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    None
}

#[test]
fn send_delivers_recipients_body_html_and_attachments() {
    let sb = sandbox();
    sb.write("report.csv", "host,status\nweb-1,ok\n");
    let subject = format!("daily check {}", std::process::id());
    let out = sb.script(
        &format!(
            r#"
let r = mail::send(#{{to: ["ops@example.com", "Ana <ana@example.com>"], cc: "boss@example.com",
                     subject: "{subject}", body: "All green.", html: "<p>All <b>green</b>.</p>",
                     attachments: ["report.csv"]}});
print(`${{r.message_id.len() > 10}} ${{r.server_reply}} ${{r.bytes > 100}}`);
print(r.message_id);
"#
        ),
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = printed(&out);
    assert_eq!(lines[0], "true OK message accepted true");
    let mail = received(&subject).expect("the message arrived");
    assert!(mail.contains("X-Envelope-From: runbook@example.com"), "{mail}");
    assert!(mail.contains("X-Envelope-To: ops@example.com, ana@example.com, boss@example.com"), "{mail}");
    assert!(
        mail.contains("To: ops@example.com, \"Ana\" <ana@example.com>")
            || mail.contains("To: ops@example.com, Ana <ana@example.com>"),
        "{mail}"
    );
    assert!(mail.contains("Cc: boss@example.com"), "{mail}");
    assert!(mail.contains(&format!("Message-ID: <{}>", lines[1])), "{mail}");
    assert!(mail.contains("All green."), "{mail}");
    assert!(mail.contains("<p>All <b>green</b>.</p>"), "{mail}");
    assert!(mail.contains("filename=\"report.csv\""), "{mail}");
    assert!(mail.contains("Content-Type: text/csv"), "{mail}");
    assert!(mail.contains("web-1,ok"), "{mail}");
}

#[test]
fn addresses_are_checked_before_connecting() {
    let sb = Sandbox::new();
    // Nothing listens there: the address error must come first.
    smtp_config(&sb, &closed_port().to_string(), "smtp-test-pw");
    let out = sb.script(r#"mail::send(#{to: ["ok@example.com", "not an address"], subject: "x"});"#, &[]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("mail::send (default): `to`: \"not an address\" is not an email address"),
        "{}",
        out.stderr
    );
    let none = sb.script(r#"mail::send(#{subject: "x"});"#, &[]);
    assert!(none.stderr.contains("`to`: no recipient"), "{}", none.stderr);
    let typo = sb.script(r#"mail::send(#{to: "a@example.com", subjet: "x"});"#, &[]);
    assert!(typo.stderr.contains("unknown option `subjet` (did you mean `subject`?)"), "{}", typo.stderr);
}

#[test]
fn refused_and_auth_failures_are_clear_and_keep_the_password_hidden() {
    let sb = Sandbox::new();
    let closed = closed_port();
    smtp_config(&sb, &closed.to_string(), "smtp-test-pw");
    let refused = sb.script(r#"mail::send(#{to: "a@example.com", subject: "x", body: "y"});"#, &[]);
    assert!(refused.stderr.contains(&format!("localhost:{closed}: connection refused")), "{}", refused.stderr);

    smtp_config(&sb, &service("RUNBOOK_TEST_SMTP_PORT"), "wrong-password-42");
    let denied = sb.script(r#"mail::send(#{to: "a@example.com", subject: "auth", body: "y"});"#, &[]);
    assert_ne!(denied.code, 0);
    assert!(denied.stderr.contains("authentication failed"), "{}", denied.stderr);
    assert!(!denied.stderr.contains("wrong-password-42") && !denied.stdout.contains("wrong-password-42"));

    // STARTTLS towards a server whose CA is not trusted fails, verified.
    sb.config(&format!(
        "[smtp.default]\nhost = \"localhost\"\nport = {}\nusername = \"runbook\"\npassword = \"smtp-test-pw\"\nfrom = \"r@example.com\"\n",
        service("RUNBOOK_TEST_SMTP_PORT")
    ));
    let untrusted = sb.script(r#"mail::send(#{to: "a@example.com", subject: "tls", body: "y"});"#, &[]);
    assert_ne!(untrusted.code, 0);
    assert!(untrusted.stderr.to_lowercase().contains("certificate"), "{}", untrusted.stderr);

    sb.config("[smtp.relay]\nhost = \"mail.example.com\"\nsecurity = \"none\"\nfrom = \"r@example.com\"\n");
    let plain = sb.script(r#"mail::send(#{to: "a@example.com", subject: "x"});"#, &[]);
    assert!(
        plain.stderr.contains("security = \"none\" is only allowed towards localhost, not mail.example.com"),
        "{}",
        plain.stderr
    );
}

#[test]
fn dry_run_shows_the_message_and_sends_nothing() {
    let sb = sandbox();
    let subject = format!("dry {}", std::process::id());
    let out = sb.script(
        &format!(r#"print(mail::send(#{{to: "a@example.com", subject: "{subject}", body: "y"}}).dry_run);"#),
        &["--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(&format!("would send mail \"{subject}\" to a@example.com (")), "{}", out.stdout);
    assert_eq!(printed(&out), vec!["true"]);
    assert!(received(&subject).is_none(), "a dry run sent mail");
}
