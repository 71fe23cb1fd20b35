//! Every credential and region source an operator already uses with the
//! AWS CLI, each on loopback: a `credential_process`, ECS container
//! credentials, a web identity token and assume-role against an STS
//! stand-in, an SSO profile with a cached token against a portal stand-in,
//! the region from AWS_REGION and from a profile, and the instance-metadata
//! service asked only when the table allows it. The S3 calls go to the
//! s3s-fs server (which checks signatures) or to a stand-in that records
//! what was signed.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code: a failed unwrap is the report")]

mod common;
use common::web::{serve_recording, Log, Seen};
use common::{printed, service, Out, Sandbox};
use std::process::Command;

/// The variables of the AWS CLI's chains: none may leak in from the
/// machine running the tests.
const AWS_VARS: [&str; 18] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_STS",
];

/// A sandbox whose `[s3.backups]` is a fresh bucket of the s3s-fs server
/// with no credentials of its own (`extra` lines go in the table).
fn sandbox(test: &str, extra: &str) -> Sandbox {
    let name = format!("t-cred-{test}-{}", std::process::id());
    std::fs::create_dir_all(std::path::Path::new(&service("RUNBOOK_TEST_S3_ROOT")).join(&name)).unwrap();
    let sb = Sandbox::new();
    sb.config(&format!(
        "[s3.backups]\nbucket = \"{name}\"\nendpoint = \"{}\"\n{extra}\n[fs]\nroots = [\"{}\"]\n",
        service("RUNBOOK_TEST_S3_ENDPOINT"),
        sb.path().display()
    ));
    sb.write("f.txt", "backup\n");
    sb
}

/// `runbook run s.rhai` with the AWS variables cleared, then `env` set.
fn run(sb: &Sandbox, script: &str, env: &[(&str, &str)]) -> Out {
    sb.write("s.rhai", &format!("// Test script.\n{script}\n"));
    let mut cmd: Command = sb.cmd();
    cmd.args(["run", "s.rhai"]);
    for v in AWS_VARS {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    sb.run_cmd(&mut cmd)
}

/// Upload, list, and print a session token as a script might (in a
/// message, say): it must come out masked.
const ROUND_TRIP: &str = r#"let b = s3::bucket("backups");
b.put_file("f.txt", "db/f.txt");
print(b.list().map(|o| o.key));
print(`token: ${TOKEN}`);"#;

fn round_trip(token: &str) -> String {
    // Built from halves so that the script's own text is not the secret.
    let (a, b) = token.split_at(token.len() / 2);
    ROUND_TRIP.replace("${TOKEN}", &format!("{a}${{\"{b}\"}}"))
}

fn assert_round_trip(out: &Out) {
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(printed(out), vec![r#"["db/f.txt"]"#, "token: ***"]);
}

/// The XML of STS's answer to `action` (AssumeRole,
/// AssumeRoleWithWebIdentity): the test server's key and `token`.
fn sts_answer(action: &str, token: &str) -> String {
    format!(
        "<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{action}Result><Credentials>\
         <AccessKeyId>runbook-test-key</AccessKeyId><SecretAccessKey>runbook-test-secret</SecretAccessKey>\
         <SessionToken>{token}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>\
         <AssumedRoleUser><AssumedRoleId>AROATEST:runbook</AssumedRoleId>\
         <Arn>arn:aws:sts::123456789012:assumed-role/backup/runbook</Arn></AssumedRoleUser></{action}Result>\
         <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{action}Response>"
    )
}

fn requests(log: &Log) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

/// A profile `ops` in ~/.aws/config whose `credential_process` is a
/// shell script of `body`.
fn process_profile(sb: &Sandbox, body: &str) {
    let helper = sb.write("creds.sh", body);
    Command::new("chmod").arg("+x").arg(&helper).status().unwrap();
    sb.write(".aws/config", &format!("[profile ops]\ncredential_process = {}\n", helper.display()));
}

/// A `credential_process` that prints the S3 test server's key with
/// `token` as the session token.
fn prints_keys(token: &str) -> String {
    format!(
        "#!/bin/sh\necho '{{\"Version\": 1, \"AccessKeyId\": \"runbook-test-key\", \"SecretAccessKey\": \"runbook-test-secret\", \"SessionToken\": \"{token}\"}}'\n"
    )
}

#[test]
fn a_credential_process_of_a_profile_in_aws_config() {
    let sb = sandbox("process", "profile = \"ops\"");
    process_profile(&sb, &prints_keys("process-session-token-1234"));
    assert_round_trip(&run(&sb, &round_trip("process-session-token-1234"), &[]));
    // Keys exported for another account do not win over the profile the
    // table names.
    let other = [("AWS_ACCESS_KEY_ID", "other-account-key"), ("AWS_SECRET_ACCESS_KEY", "other-account-secret")];
    assert_round_trip(&run(&sb, &round_trip("process-session-token-1234"), &other));

    // AWS_PROFILE names it as well as the table does.
    let sb = sandbox("process-env", "");
    process_profile(&sb, &prints_keys("process-session-token-5678"));
    assert_round_trip(&run(&sb, &round_trip("process-session-token-5678"), &[("AWS_PROFILE", "ops")]));

    // A process that fails stops the search, in words.
    let sb = sandbox("process-fails", "profile = \"ops\"");
    process_profile(&sb, "#!/bin/sh\necho 'the vault is sealed' >&2\nexit 3\n");
    let out = run(&sb, r#"s3::bucket("backups").list();"#, &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("credentials for [s3.backups] from profile `ops` failed: "), "{}", out.stderr);
    assert!(out.stderr.contains("the vault is sealed"), "{}", out.stderr);
}

#[test]
fn ecs_container_credentials_from_the_full_uri() {
    let (port, log) = serve_recording(|req| {
        if req.header("authorization") != "ecs-auth-token" {
            return (401, "application/json", "{}".into());
        }
        (
            200,
            "application/json",
            r#"{"AccessKeyId": "runbook-test-key", "SecretAccessKey": "runbook-test-secret", "Token": "ecs-session-token-9012", "Expiration": "2099-01-01T00:00:00Z"}"#.into(),
        )
    });
    let sb = sandbox("ecs", "");
    let uri = format!("http://127.0.0.1:{port}/v2/credentials/task");
    let out = run(
        &sb,
        &round_trip("ecs-session-token-9012"),
        &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ecs-auth-token")],
    );
    assert_round_trip(&out);
    let seen = requests(&log);
    assert_eq!(seen.len(), 1, "the credentials are fetched once for the run: {seen:?}");
    assert_eq!((seen[0].method.as_str(), seen[0].path.as_str()), ("GET", "/v2/credentials/task"));
}

#[test]
fn a_web_identity_token_and_assume_role_through_sts() {
    let (sts, log) = serve_recording(|req| {
        let form = &req.body;
        if form.contains("Action=AssumeRoleWithWebIdentity&")
            && form.contains("WebIdentityToken=eks-projected-token")
            && form.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbackup")
        {
            (200, "text/xml", sts_answer("AssumeRoleWithWebIdentity", "web-identity-session-3456"))
        } else if form.contains("Action=AssumeRole&")
            && req.header("authorization").contains("Credential=source-key-id/")
            && form.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdeploy")
        {
            (200, "text/xml", sts_answer("AssumeRole", "assumed-role-session-7890"))
        } else {
            (403, "text/xml", "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not this role</Message></Error></ErrorResponse>".into())
        }
    });
    let endpoint = format!("http://127.0.0.1:{sts}");

    // EKS: a projected token file and the role in the environment.
    let sb = sandbox("web-identity", "");
    let token = sb.write("token", "eks-projected-token");
    let out = run(
        &sb,
        &round_trip("web-identity-session-3456"),
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", &token.display().to_string()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/backup"),
            ("AWS_ROLE_SESSION_NAME", "runbook-test"),
            ("AWS_ENDPOINT_URL_STS", &endpoint),
        ],
    );
    assert_round_trip(&out);

    // A profile with role_arn and source_profile: STS is asked with the
    // source profile's keys.
    let sb = sandbox("assume-role", "profile = \"deploy\"");
    sb.write(
        ".aws/config",
        "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = base\nregion = us-east-1\n",
    );
    sb.write(
        ".aws/credentials",
        "[base]\naws_access_key_id = source-key-id\naws_secret_access_key = source-secret-key-4321\n",
    );
    let out = run(&sb, &round_trip("assumed-role-session-7890"), &[("AWS_ENDPOINT_URL_STS", &endpoint)]);
    assert_round_trip(&out);
    let actions: Vec<String> =
        requests(&log).iter().map(|r| r.body.split('&').next().unwrap_or_default().to_string()).collect();
    assert_eq!(actions, vec!["Action=AssumeRoleWithWebIdentity", "Action=AssumeRole"]);

    // A role STS refuses: the source and STS's answer, and no fall-through.
    sb.write(
        ".aws/config",
        "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/other\nsource_profile = base\nregion = us-east-1\n",
    );
    let out = run(&sb, r#"s3::bucket("backups").list();"#, &[("AWS_ENDPOINT_URL_STS", &endpoint)]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("credentials for [s3.backups] from profile `deploy` failed: "), "{}", out.stderr);
    assert!(out.stderr.contains("not this role"), "{}", out.stderr);
    assert!(!out.stderr.contains("source-secret-key-4321"), "{}", out.stderr);
}

#[test]
fn an_sso_profile_with_a_cached_token() {
    let (portal, log) = serve_recording(|req| {
        let query: std::collections::BTreeSet<&str> =
            req.path.split_once('?').map(|(_, q)| q.split('&').collect()).unwrap_or_default();
        if req.path.starts_with("/federation/credentials?")
            && query == ["account_id=123456789012", "role_name=backup"].into()
            && req.header("x-amz-sso_bearer_token") == "cached-sso-access-token"
        {
            (
                200,
                "application/json",
                r#"{"roleCredentials": {"accessKeyId": "runbook-test-key", "secretAccessKey": "runbook-test-secret", "sessionToken": "sso-session-token-2468", "expiration": 4070908800000}}"#.into(),
            )
        } else {
            (401, "application/json", r#"{"message": "Session token not found or invalid"}"#.into())
        }
    });
    let sb = sandbox("sso", "profile = \"sso-ops\"");
    let start_url = "https://runbook-test.awsapps.com/start";
    sb.write(
        ".aws/config",
        &format!(
            "[profile sso-ops]\nsso_start_url = {start_url}\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = backup\n"
        ),
    );
    // `aws sso login` caches the token under the SHA-1 of the start URL.
    let sha1 = Command::new("sh").arg("-c").arg(format!("printf %s '{start_url}' | sha1sum")).output().unwrap();
    let sha1 = String::from_utf8(sha1.stdout).unwrap().split_whitespace().next().unwrap().to_string();
    sb.write(
        &format!(".aws/sso/cache/{sha1}.json"),
        &format!(
            r#"{{"startUrl": "{start_url}", "region": "us-east-1", "accessToken": "cached-sso-access-token", "expiresAt": "2099-01-01T00:00:00Z"}}"#
        ),
    );
    let out = run(
        &sb,
        &round_trip("sso-session-token-2468"),
        &[("AWS_ENDPOINT_URL_SSO", &format!("http://127.0.0.1:{portal}"))],
    );
    assert_round_trip(&out);
    assert_eq!(requests(&log).len(), 1, "{:?}", requests(&log));
}

/// An S3 stand-in that answers every listing with no objects and keeps
/// the requests, so the test reads what was signed.
fn recording_s3() -> (u16, Log) {
    serve_recording(|_| {
        (
            200,
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>\
             </ListBucketResult>"
                .into(),
        )
    })
}

/// The `Credential=KEY/DATE/REGION/s3/aws4_request` of each request:
/// (KEY, REGION).
fn signed(log: &Log) -> Vec<(String, String)> {
    requests(log)
        .iter()
        .map(|r| {
            let auth = r.header("authorization");
            let scope = auth.split("Credential=").nth(1).unwrap().split(',').next().unwrap().to_string();
            let parts: Vec<&str> = scope.split('/').collect();
            (parts[0].to_string(), parts[2].to_string())
        })
        .collect()
}

fn recorded_sandbox(port: u16, extra: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.config(&format!("[s3.rec]\nbucket = \"b\"\nendpoint = \"http://127.0.0.1:{port}\"\n{extra}\n"));
    sb
}

#[test]
fn the_region_comes_from_the_table_then_aws_region_then_the_profile() {
    const LIST: &str = r#"print(s3::bucket("rec").list().len());"#;
    let keys = "access_key_id = \"k-id\"\nsecret_access_key = \"s-key-1234\"";
    let (port, log) = recording_s3();
    let sb = recorded_sandbox(port, keys);
    sb.write(".aws/config", "[default]\nregion = ap-south-1\n[profile eu]\nregion = eu-central-1\n");
    for env in [
        vec![("AWS_REGION", "eu-west-1")],
        vec![("AWS_DEFAULT_REGION", "eu-west-2")],
        vec![],
        vec![("AWS_PROFILE", "eu")],
        vec![("AWS_PROFILE", "eu"), ("AWS_REGION", "eu-west-1")],
    ] {
        let out = run(&sb, LIST, &env);
        assert_eq!(printed(&out), vec!["0"], "{env:?}: {}", out.stderr);
    }
    let regions: Vec<String> = signed(&log).into_iter().map(|(_, r)| r).collect();
    assert_eq!(regions, vec!["eu-west-1", "eu-west-2", "ap-south-1", "eu-central-1", "eu-west-1"]);

    // The table's own region wins over all of them.
    let (port, log) = recording_s3();
    let sb = recorded_sandbox(port, &format!("{keys}\nregion = \"sa-east-1\""));
    let out = run(&sb, LIST, &[("AWS_REGION", "eu-west-1")]);
    assert_eq!(printed(&out), vec!["0"], "{}", out.stderr);
    assert_eq!(signed(&log), vec![("k-id".to_string(), "sa-east-1".to_string())]);
}

#[test]
fn instance_metadata_is_asked_only_when_the_table_allows_it() {
    let (imds, imds_log) = serve_recording(|req| {
        match (req.method.as_str(), req.path.as_str()) {
        // The TTL comes back as a header, which the content type carries.
        ("PUT", "/latest/api/token") => {
            (200, "text/plain\r\nX-aws-ec2-metadata-token-ttl-seconds: 21600", "imds-session".into())
        }
        (_, "/latest/meta-data/placement/region") => (200, "text/plain", "eu-north-1".into()),
        (_, p) if p.starts_with("/latest/meta-data/iam/security-credentials") && p.ends_with('/') => {
            (200, "text/plain", "instance-role".into())
        }
        (_, p) if p.starts_with("/latest/meta-data/iam/security-credentials") => (
            200,
            "application/json",
            r#"{"Code": "Success", "LastUpdated": "2026-12-01T00:00:00Z", "Type": "AWS-HMAC", "AccessKeyId": "imds-key-id", "SecretAccessKey": "imds-secret-key-1357", "Token": "imds-session-token-1357", "Expiration": "2099-01-01T00:00:00Z"}"#.into(),
        ),
        _ => (404, "text/plain", "not found".into()),
    }
    });
    let endpoint = format!("http://127.0.0.1:{imds}");
    let env = [("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.as_str())];
    let (port, log) = recording_s3();

    let off = recorded_sandbox(port, "");
    let out = run(&off, r#"s3::bucket("rec").list();"#, &env);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "no credentials for [s3.rec]: tried AWS_ACCESS_KEY_ID, profile `default`, web identity \
             (AWS_WEB_IDENTITY_TOKEN_FILE), ECS container credentials. Set access_key_id and secret_access_key there, \
             or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile (`aws configure`, `aws sso login`; \
             `profile = \"NAME\"` in the table or AWS_PROFILE); on EC2, `instance_metadata = true` in the table \
             uses the instance's role"
        ),
        "{}",
        out.stderr
    );
    assert!(requests(&imds_log).is_empty(), "instance metadata was asked: {:?}", requests(&imds_log));
    assert!(requests(&log).is_empty());
    // Nor through a profile that names the instance's role.
    let via_profile = recorded_sandbox(port, "profile = \"ec2\"");
    via_profile.write(
        ".aws/config",
        "[profile ec2]\nrole_arn = arn:aws:iam::123456789012:role/backup\ncredential_source = Ec2InstanceMetadata\n",
    );
    let out = run(&via_profile, r#"s3::bucket("rec").list();"#, &env);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "the profile asks for the instance's role (credential_source = Ec2InstanceMetadata): \
             `instance_metadata = true` in [s3.rec] allows it"
        ),
        "{}",
        out.stderr
    );
    assert!(requests(&imds_log).is_empty(), "instance metadata was asked: {:?}", requests(&imds_log));

    let on = recorded_sandbox(port, "instance_metadata = true");
    let out = run(&on, r#"print(s3::bucket("rec").list().len()); print("imds-secret-" + "key-1357");"#, &env);
    assert_eq!(printed(&out), vec!["0", "***"], "{}", out.stderr);
    // Credentials and region both from the instance.
    assert_eq!(signed(&log), vec![("imds-key-id".to_string(), "eu-north-1".to_string())]);
    assert!(requests(&imds_log).iter().any(|r| r.method == "PUT" && r.path == "/latest/api/token"));
}
