//! `s3`: against the s3s-fs server dev/services.sh starts (signatures
//! checked), each test with a bucket of its own.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::{printed, service, Sandbox};
use std::process::{Command, Stdio};
use std::time::Duration;

struct Bucket {
    name: String,
    dir: std::path::PathBuf,
}

fn bucket(test: &str) -> Bucket {
    let name = format!("t-{test}-{}", std::process::id());
    let dir = std::path::Path::new(&service("RUNBOOK_TEST_S3_ROOT")).join(&name);
    std::fs::create_dir_all(&dir).unwrap();
    Bucket { name, dir }
}

fn config(sb: &Sandbox, endpoint: &str, bucket: &str, secret: &str) {
    sb.config(&format!(
        "[s3.backups]\nbucket = \"{bucket}\"\nendpoint = \"{endpoint}\"\naccess_key_id = \"runbook-test-key\"\nsecret_access_key = \"{secret}\"\npart_size = \"5MiB\"\n\n[fs]\nroots = [\"{}\"]\n",
        sb.path().display()
    ));
}

fn sandbox(b: &Bucket) -> Sandbox {
    let sb = Sandbox::new();
    config(&sb, &service("RUNBOOK_TEST_S3_ENDPOINT"), &b.name, "runbook-test-secret");
    sb
}

/// Deterministic bytes that do not compress to nothing.
fn data(len: usize) -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

#[test]
fn upload_list_summarise_look_and_download() {
    let b = bucket("roundtrip");
    let sb = sandbox(&b);
    let big = data(12 * 1024 * 1024 + 123);
    std::fs::write(sb.path().join("big.bin"), &big).unwrap();
    sb.write("small.sql", "SELECT 1;\n");
    let out = sb.script(
        r#"
let b = s3::bucket("backups");
let s = b.put_file("small.sql", "db/civicq 1.sql", #{content_type: "application/sql", storage_class: "STANDARD"});
print(`${s.key} ${s.bytes} ${s.etag.len()}`);
let m = b.put_file("big.bin", "db/big.bin");
print(`${m.key} ${m.bytes} ${m.etag.ends_with("-3")}`);
print(b.list().map(|o| `${o.key}:${o.size}:${type_of(o.modified)}`));
print(b.list(#{recursive: false}).map(|o| o.key));
print(b.list(#{prefix: "db/big"}).map(|o| o.key));
let sum = b.summary();
print(`${sum.objects} ${sum.bytes} ${sum.human}`);
print(b.summary("nothing/").objects);
print(`${b.exists("db/big.bin")} ${b.exists("db/none")}`);
let h = b.head("db/civicq 1.sql");
print(`${h.size} ${h.content_type} ${type_of(h.modified)}`);
let g = b.get_file("db/big.bin", "copy.bin");
print(`${g.bytes}`);
"#,
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let total = big.len() + 10;
    assert_eq!(
        printed(&out),
        vec![
            "db/civicq 1.sql 10 32".to_string(),
            format!("db/big.bin {} true", big.len()),
            format!(r#"["db/big.bin:{}:Timestamp", "db/civicq 1.sql:10:Timestamp"]"#, big.len()),
            r#"["db/"]"#.to_string(),
            r#"["db/big.bin"]"#.to_string(),
            format!("2 {total} 12.0 MiB"),
            "0".to_string(),
            "true false".to_string(),
            "10 application/sql Timestamp".to_string(),
            format!("{}", big.len()),
        ]
    );
    assert_eq!(std::fs::read(sb.path().join("copy.bin")).unwrap(), big);
    let missing = sb.script(r#"s3::bucket("backups").head("db/none");"#, &[]);
    assert!(missing.stderr.contains(&format!("no object `db/none` in bucket `{}`", b.name)), "{}", missing.stderr);
    let gone = sb.script(r#"s3::bucket("backups").get_file("db/none", "none.bin");"#, &[]);
    assert_ne!(gone.code, 0);
    assert!(!sb.path().join("none.bin").exists());
}

#[test]
fn deleting_needs_yes_and_dry_run_lists_what_would_go() {
    let b = bucket("expire");
    let sb = sandbox(&b);
    sb.write("f.txt", "backup\n");
    let put = sb.script(
        r#"let b = s3::bucket("backups"); for k in ["db/old-1.gz", "db/old-2.gz", "db/new.gz", "other/old.gz"] { b.put_file("f.txt", k); }"#,
        &[],
    );
    assert_eq!(put.code, 0, "{}", put.stderr);
    // s3s-fs reports a file's modification time as the object's.
    for k in ["db/old-1.gz", "db/old-2.gz", "other/old.gz"] {
        let st = Command::new("touch").args(["-d", "40 days ago"]).arg(b.dir.join(k)).status().unwrap();
        assert!(st.success());
    }
    let keys = || {
        let out = sb.script(r#"print(s3::bucket("backups").list().map(|o| o.key));"#, &[]);
        printed(&out).join("")
    };
    let dry = sb.script(r#"print(s3::bucket("backups").delete_older_than("db/", "30d"));"#, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(
        dry.stdout.contains(&format!(
            "would delete 2 objects older than 30d from s3://{}/db/ (14 B): db/old-1.gz, db/old-2.gz",
            b.name
        )),
        "{}",
        dry.stdout
    );
    let refused = sb.script(r#"s3::bucket("backups").delete_older_than("db/", "30d");"#, &[]);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(refused.stderr.contains("refusing to delete 2 objects older than 30d"), "{}", refused.stderr);
    let one = sb.script(r#"s3::bucket("backups").delete("db/new.gz");"#, &[]);
    assert!(one.stderr.contains("refusing to delete s3://"), "{}", one.stderr);
    assert_eq!(keys(), r#"["db/new.gz", "db/old-1.gz", "db/old-2.gz", "other/old.gz"]"#);

    let done = sb.script(
        r#"let r = s3::bucket("backups").delete_older_than("db/", "30d"); print(`${r.deleted} ${r.keys}`);"#,
        &["--yes"],
    );
    assert_eq!(printed(&done), vec![r#"2 ["db/old-1.gz", "db/old-2.gz"]"#]);
    let del = sb.script(r#"print(s3::bucket("backups").delete("db/new.gz"));"#, &["--yes"]);
    assert_eq!(printed(&del), vec!["true"]);
    assert_eq!(keys(), r#"["other/old.gz"]"#);
}

#[test]
fn bad_credentials_missing_bucket_and_unknown_target_are_clear() {
    let b = bucket("errors");
    let sb = Sandbox::new();
    config(&sb, &service("RUNBOOK_TEST_S3_ENDPOINT"), &b.name, "not-the-secret-xyz");
    let bad = sb.script(r#"s3::bucket("backups").list();"#, &[]);
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("s3 (backups): credentials refused: SignatureDoesNotMatch"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("not-the-secret-xyz") && !bad.stdout.contains("not-the-secret-xyz"));

    config(&sb, &service("RUNBOOK_TEST_S3_ENDPOINT"), "no-such-bucket-here", "runbook-test-secret");
    let nob = sb.script(r#"s3::bucket("backups").summary();"#, &[]);
    assert!(nob.stderr.contains("bucket `no-such-bucket-here` does not exist"), "{}", nob.stderr);

    let typo = sb.script(r#"s3::bucket("backup");"#, &[]);
    assert!(typo.stderr.contains("no [s3.backup] target (did you mean `backups`?)"), "{}", typo.stderr);

    sb.config(&format!(
        "[s3.media]\nbucket = \"{}\"\nendpoint = \"{}\"\n",
        b.name,
        service("RUNBOOK_TEST_S3_ENDPOINT")
    ));
    sb.write("s.rhai", "// t\ns3::bucket(\"media\").list();\n");
    let none = sb
        .run_cmd(sb.cmd().args(["run", "s.rhai"]).env_remove("AWS_ACCESS_KEY_ID").env_remove("AWS_SECRET_ACCESS_KEY"));
    assert!(none.stderr.contains("no credentials for [s3.media]"), "{}", none.stderr);
    // From the environment instead.
    let env = sb.run_cmd(
        sb.cmd()
            .args(["run", "s.rhai"])
            .env("AWS_ACCESS_KEY_ID", "runbook-test-key")
            .env("AWS_SECRET_ACCESS_KEY", "runbook-test-secret"),
    );
    assert_eq!(env.code, 0, "{}", env.stderr);
}

#[test]
fn an_upload_cut_off_half_way_leaves_no_object_and_the_file_intact() {
    let b = bucket("cutoff");
    let root = service("RUNBOOK_TEST_S3_ROOT");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let start = || {
        let child = Command::new(service("RUNBOOK_TEST_S3FS_BIN"))
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", "runbook-test-key", "--secret-key", "runbook-test-secret", &root])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    };
    let mut server = start();
    let sb = Sandbox::new();
    config(&sb, &format!("http://127.0.0.1:{port}"), &b.name, "runbook-test-secret");
    let big = data(400 * 1024 * 1024);
    std::fs::write(sb.path().join("huge.bin"), &big).unwrap();
    sb.write("s.rhai", "// t\ns3::bucket(\"backups\").put_file(\"huge.bin\", \"db/huge.bin\");\n");
    let upload = sb.cmd().args(["run", "s.rhai"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    server.kill().unwrap();
    server.wait().unwrap();
    let out = upload.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "the upload finished before the server was stopped");
    // The server is gone: the abort cannot be made, and the message says
    // so (it said "nothing was left in the bucket" while parts remained).
    assert!(stderr.contains(&format!("upload to s3://{}/db/huge.bin failed, ", b.name)), "{stderr}");
    assert!(stderr.contains("; the upload's parts may remain in the bucket ("), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "remove them with `aws s3api abort-multipart-upload --bucket {} --key db/huge.bin --upload-id ",
            b.name
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("nothing was left"), "{stderr}");
    let mut server = start();
    let list = sb.script(r#"print(s3::bucket("backups").list().len());"#, &[]);
    server.kill().unwrap();
    let _ = server.wait();
    assert_eq!(printed(&list), vec!["0"], "{}", list.stderr);
    assert!(!b.dir.join("db/huge.bin").exists());
    assert!(std::fs::read(sb.path().join("huge.bin")).unwrap() == big, "the local file changed");
}
