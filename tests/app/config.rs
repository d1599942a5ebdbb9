//! The real binary: configuration errors, migrations from the CLI, graceful shutdown.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::random_key;

const BIN: &str = env!("CARGO_BIN_EXE_pulse-etl");

fn serve_with(env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("serve").env_clear().current_dir(std::env::temp_dir());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run pulse-etl")
}

#[test]
fn missing_configuration_stops_start_up_with_one_line_and_exit_code_2() {
    let out = serve_with(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for name in ["DATABASE_URL", "BACKEND_SERVICE_URL", "SECRET_KEY", "ENCRYPTION_KEY"] {
        assert!(err.contains(name), "{name} not named in {err}");
    }
    assert!(!err.contains("panicked") && !err.contains("backtrace"));
}

#[test]
fn malformed_values_are_each_named() {
    let out = serve_with(&[
        ("DATABASE_URL", "mysql://x"),
        ("BACKEND_SERVICE_URL", "ftp://backend"),
        ("SECRET_KEY", "too-short"),
        ("ENCRYPTION_KEY", "AAAA"),
        ("BIND_ADDRESS", "localhost"),
        ("AUTH_CACHE_TTL_SECONDS", "-1"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    for name in [
        "DATABASE_URL",
        "BACKEND_SERVICE_URL",
        "SECRET_KEY",
        "ENCRYPTION_KEY",
        "BIND_ADDRESS",
        "AUTH_CACHE_TTL_SECONDS",
    ] {
        assert!(err.contains(name), "{name} not named in {err}");
    }
}

#[test]
fn an_unreachable_database_is_one_clear_line_not_a_panic() {
    let key = random_key(32);
    let secret = "s".repeat(64);
    let out = serve_with(&[
        ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
        ("BACKEND_SERVICE_URL", "http://127.0.0.1:9"),
        ("SECRET_KEY", &secret),
        ("ENCRYPTION_KEY", &key),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to the database"), "{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn migrate_applies_and_rolls_back_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("migrate")
            .args(args)
            .env_clear()
            .env("DATABASE_URL", &url)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let up = run(&[]);
    assert!(up.status.success(), "{}", String::from_utf8_lossy(&up.stderr));
    assert!(String::from_utf8_lossy(&up.stdout).contains("0 pending"));
    let down = run(&["--down", "2"]);
    assert!(down.status.success());
    assert!(String::from_utf8_lossy(&down.stdout).contains("2 pending"));
    let again = run(&[]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 pending"));
}

#[test]
fn sigterm_shuts_the_server_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let port = free_port();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display()),
        )
        .env("BACKEND_SERVICE_URL", "http://127.0.0.1:9")
        .env("SECRET_KEY", "s".repeat(64))
        .env("ENCRYPTION_KEY", random_key(32))
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        // A hang guard (the server's drain allows 10 s); how long a shutdown takes is not judged.
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("hang guard: still running 60 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(&log).unwrap();
    // Killed by the signal (its default action) there would be no exit code.
    assert_eq!(status.code(), Some(0), "exit status {status}: {log}");
    assert!(
        log.contains("shutdown requested"),
        "the service's own handler took the signal: {log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the port is closed"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
