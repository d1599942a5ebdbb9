//! The simulators' rate limits and faults look exactly like the real services' (headers, bodies),
//! and are deterministic by seed.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use pulse_sim::server::{self, SimHandle, SimOptions};
use pulse_sim::state::{Outage, SimConfig, Storms};

fn start(config: SimConfig, seed: u64) -> SimHandle {
    let _ = rustls::crypto::ring::default_provider().install_default();
    server::start(SimOptions {
        seed,
        config,
        ..SimOptions::default()
    })
    .unwrap()
}

fn jira_cloud(sim: &SimHandle, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(format!("{}/rest/api/3/{path}", sim.urls.jira_cloud))
        .basic_auth("sim@example.com", Some("sim-token"))
}

fn github(sim: &SimHandle, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(format!("{}/{path}", sim.urls.github))
        .bearer_auth("sim-github-token")
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers().get(name).map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn jira_cloud_burst_limits_answer_429_with_retry_after_iso_reset_and_reason() {
    let sim = start(
        SimConfig {
            jira_burst_per_second: Some(2),
            ..SimConfig::default()
        },
        1,
    );
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..4 {
        let res = jira_cloud(&sim, "myself").send().await.unwrap();
        statuses.push(res.status().as_u16());
        if res.status() == 429 {
            limited = Some(res);
        }
    }
    assert_eq!(&statuses[..2], &[200, 200]);
    let res = limited.expect("a 429 within the burst second");
    assert_eq!(header(&res, "retry-after").as_deref(), Some("1"));
    let reset = header(&res, "x-ratelimit-reset").unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(&reset, "%Y-%m-%dT%H:%MZ").is_ok(),
        "ISO yyyy-MM-ddTHH:mmZ, got {reset}"
    );
    assert_eq!(header(&res, "ratelimit-reason").as_deref(), Some("jira-burst-based"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["errorMessages"][0].is_string());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        jira_cloud(&sim, "myself").send().await.unwrap().status(),
        200,
        "the next second is allowed again"
    );
}

#[tokio::test]
async fn jira_data_center_limits_carry_token_bucket_headers() {
    let sim = start(
        SimConfig {
            jira_burst_per_second: Some(1),
            ..SimConfig::default()
        },
        1,
    );
    let get = || {
        reqwest::Client::new()
            .get(format!("{}/rest/api/2/myself", sim.urls.jira_dc))
            .bearer_auth("sim-pat")
    };
    assert_eq!(get().send().await.unwrap().status(), 200);
    let res = get().send().await.unwrap();
    assert_eq!(res.status(), 429);
    for h in [
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-interval-seconds",
        "x-ratelimit-fillrate",
    ] {
        assert!(header(&res, h).is_some(), "{h}");
    }
}

#[tokio::test]
async fn github_primary_exhaustion_is_403_or_429_with_remaining_zero_and_epoch_reset() {
    let sim = start(
        SimConfig {
            github_rest_budget: 3,
            ..SimConfig::default()
        },
        7,
    );
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let res = github(&sim, "user").send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "x-ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(header(&res, "x-ratelimit-resource").as_deref(), Some("core"));
        remaining.push(header(&res, "x-ratelimit-remaining").unwrap());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let res = github(&sim, "user").send().await.unwrap();
    assert!(matches!(res.status().as_u16(), 403 | 429), "{}", res.status());
    assert_eq!(header(&res, "x-ratelimit-remaining").as_deref(), Some("0"));
    let reset: i64 = header(&res, "x-ratelimit-reset")
        .unwrap()
        .parse()
        .expect("epoch seconds");
    let in_secs = reset - chrono::Utc::now().timestamp();
    assert!((3500..=3601).contains(&in_secs), "{in_secs}");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("API rate limit exceeded"));
}

#[tokio::test]
async fn github_secondary_limits_say_so_with_retry_after() {
    let sim = start(
        SimConfig {
            github_secondary_per_minute: Some(1),
            ..SimConfig::default()
        },
        1,
    );
    assert_eq!(github(&sim, "user").send().await.unwrap().status(), 200);
    let res = github(&sim, "user").send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(header(&res, "retry-after").as_deref(), Some("60"));
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("secondary rate limit"));
}

/// Each answer is judged by when it was asked and answered (both inside a storm: 429; both in
/// the calm between: 200), so a slow machine changes which answers are judged, never the verdict.
#[tokio::test]
async fn rate_limit_storms_answer_429_in_a_row_with_retry_after_then_pass() {
    let storms = Storms {
        every_ms: 1_500,
        length_ms: 1_000,
    };
    let sim = start(
        SimConfig {
            rate_limit_storms: Some(storms),
            ..SimConfig::default()
        },
        1,
    );
    // Which storm cycle an instant falls in, and whether in its storm or its calm.
    let phase = |at: Instant| {
        let ms = at.duration_since(sim.state.started).as_millis() as u64;
        let calm = ms % storms.every_ms >= storms.length_ms;
        (ms / storms.every_ms, if calm { "calm" } else { "storm" })
    };
    let (mut stormy, mut calm) = (0, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while (stormy < 6 || calm < 2) && Instant::now() < deadline {
        let asked = Instant::now();
        let jira = jira_cloud(&sim, "myself").send().await.unwrap();
        let gh = github(&sim, "user").send().await.unwrap();
        let answered = Instant::now();
        let (from, to) = (phase(asked), phase(answered));
        match (from.1, from.0 == to.0 && from.1 == to.1) {
            ("storm", true) => {
                assert_eq!(jira.status(), 429);
                assert_eq!(header(&jira, "retry-after").as_deref(), Some("1"));
                assert_eq!(header(&jira, "ratelimit-reason").as_deref(), Some("jira-burst-based"));
                assert_eq!(gh.status(), 429);
                assert_eq!(header(&gh, "retry-after").as_deref(), Some("1"));
                let body: serde_json::Value = gh.json().await.unwrap();
                assert!(body["message"].as_str().unwrap().contains("secondary rate limit"));
                stormy += 1;
            }
            ("calm", true) => {
                assert_eq!(jira.status(), 200);
                assert_eq!(gh.status(), 200);
                calm += 1;
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        stormy >= 6 && calm >= 2,
        "judged {stormy} answers in storms and {calm} between"
    );
}

async fn fault_sequence(seed: u64) -> Vec<u16> {
    let sim = start(
        SimConfig {
            fault_rate: 0.5,
            ..SimConfig::default()
        },
        seed,
    );
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(jira_cloud(&sim, "myself").send().await.unwrap().status().as_u16());
    }
    sim.stop().await;
    out
}

#[tokio::test]
async fn faults_use_the_documented_statuses_and_repeat_by_seed() {
    let a = fault_sequence(42).await;
    assert_eq!(a, fault_sequence(42).await, "same seed, same faults");
    assert_ne!(a, fault_sequence(43).await, "another seed, other faults");
    assert!(a.iter().all(|s| [200, 429, 500, 502, 503, 504].contains(s)), "{a:?}");
    let faults = a.iter().filter(|s| **s != 200).count();
    assert!((8..=32).contains(&faults), "about half: {faults}");
}

#[tokio::test]
async fn malformed_bodies_resets_and_slow_bodies() {
    let sim = start(
        SimConfig {
            malformed_rate: 1.0,
            ..SimConfig::default()
        },
        1,
    );
    let res = jira_cloud(&sim, "myself").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        serde_json::from_slice::<serde_json::Value>(&res.bytes().await.unwrap()).is_err(),
        "truncated JSON"
    );

    sim.state.set_config(SimConfig {
        reset_rate: 1.0,
        ..SimConfig::default()
    });
    let broken = match github(&sim, "orgs/acme/repos").send().await {
        Err(e) => e.is_request(),
        Ok(res) => res.bytes().await.is_err(),
    };
    assert!(broken, "the connection is cut mid-answer");

    // A slow body comes as a stream of pieces (no `Content-Length`), each held back by the
    // pause, and whole in the end. How long the pauses are is measured in `make bench`.
    sim.state.set_config(SimConfig::default());
    let at_once = github(&sim, "orgs/acme/repos").send().await.unwrap();
    assert!(at_once.content_length().is_some(), "a plain answer is sent at once");
    let want = at_once.bytes().await.unwrap();
    assert!(want.len() > 4096, "a body of several pieces: {} bytes", want.len());
    sim.state.set_config(SimConfig {
        slow_body_ms: 1,
        ..SimConfig::default()
    });
    let mut res = github(&sim, "orgs/acme/repos").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.content_length(), None, "streamed, not sent at once");
    let (mut got, mut pieces) = (Vec::new(), 0);
    while let Some(chunk) = res.chunk().await.unwrap() {
        assert!(chunk.len() <= 4096, "pieces of at most 4 KiB: {}", chunk.len());
        got.extend_from_slice(&chunk);
        pieces += 1;
    }
    assert!(pieces >= want.len().div_ceil(4096), "{pieces} pieces");
    assert_eq!(got, want, "the slow body is the whole answer");
    // Paused for an hour before its first piece: the head is there, the body is not, and a
    // server that stops cuts it off (nothing of it was sent).
    sim.state.set_config(SimConfig {
        slow_body_ms: 3_600_000,
        ..SimConfig::default()
    });
    let res = tokio::time::timeout(Duration::from_secs(60), jira_cloud(&sim, "myself").send())
        .await
        .expect("hang guard: the head of a slow answer is sent at once")
        .unwrap();
    assert_eq!(res.status(), 200);
    sim.stop().await;
    assert!(res.bytes().await.is_err(), "the body was still held back");
}

/// Latency holds a request in the simulator before it is answered (how long is measured in
/// `make bench`); an outage answers 503.
#[tokio::test]
async fn latency_and_a_scheduled_outage() {
    let sim = start(
        SimConfig {
            latency_ms: 200,
            ..SimConfig::default()
        },
        1,
    );
    assert_eq!(jira_cloud(&sim, "myself").send().await.unwrap().status(), 200);
    assert_eq!(sim.stats.served("/jira-cloud"), 1);
    // An hour's latency: the request is in the simulator (counted in flight) and unanswered.
    sim.state.set_config(SimConfig {
        latency_ms: 3_600_000,
        ..SimConfig::default()
    });
    sim.state.reset_max_in_flight();
    let held = tokio::spawn(jira_cloud(&sim, "myself").send());
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim.state.max_in_flight().jira == 0 {
        assert!(
            Instant::now() < deadline,
            "hang guard: the request never reached the simulator"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sim.stats.served("/jira-cloud"), 1, "held, not answered");
    assert!(!held.is_finished(), "the client is still waiting");
    held.abort();
    let now = chrono::Utc::now();
    sim.state.set_config(SimConfig {
        outage: Some(Outage {
            from: now - chrono::Duration::seconds(1),
            until: now + chrono::Duration::seconds(30),
        }),
        ..SimConfig::default()
    });
    assert_eq!(github(&sim, "user").send().await.unwrap().status(), 503);
    assert_eq!(jira_cloud(&sim, "myself").send().await.unwrap().status(), 503);
}

#[tokio::test]
async fn wrong_credentials_get_each_services_401() {
    let sim = start(SimConfig::default(), 1);
    let res = reqwest::Client::new()
        .get(format!("{}/rest/api/3/myself", sim.urls.jira_cloud))
        .basic_auth("sim@example.com", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.json::<serde_json::Value>().await.unwrap()["errorMessages"].is_array());
    let res = reqwest::Client::new()
        .get(format!("{}/user", sim.urls.github))
        .header("Authorization", "token nope")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.json::<serde_json::Value>().await.unwrap()["message"],
        "Bad credentials"
    );
    let ok = reqwest::Client::new()
        .get(format!("{}/user", sim.urls.github))
        .header("Authorization", "token sim-github-token")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "the `token` scheme works too");
}

/// Requests of one token beyond the cap are refused as the real services refuse too many at
/// once: Jira with 429 and `Retry-After`, GitHub with its secondary-limit 403 and message; the
/// stats say how many were in flight at most.
#[tokio::test]
async fn concurrency_caps_refuse_what_is_in_flight_beyond_them() {
    let sim = start(
        SimConfig {
            latency_ms: 1_000,
            jira_max_concurrent: Some(2),
            github_max_concurrent: Some(1),
            ..SimConfig::default()
        },
        1,
    );
    let jira: Vec<_> = (0..5).map(|_| jira_cloud(&sim, "myself").send()).collect();
    let gh: Vec<_> = (0..3).map(|_| github(&sim, "user").send()).collect();
    let (jira, gh) = tokio::join!(futures_util::future::join_all(jira), futures_util::future::join_all(gh));
    let jira: Vec<reqwest::Response> = jira.into_iter().map(Result::unwrap).collect();
    let ok = jira.iter().filter(|r| r.status() == 200).count();
    assert_eq!(ok, 2, "two in flight are served");
    let refused: Vec<&reqwest::Response> = jira.iter().filter(|r| r.status() == 429).collect();
    assert_eq!(refused.len(), 3);
    assert!(refused.iter().all(|r| header(r, "retry-after").as_deref() == Some("1")));
    let gh: Vec<reqwest::Response> = gh.into_iter().map(Result::unwrap).collect();
    assert_eq!(gh.iter().filter(|r| r.status() == 200).count(), 1);
    let mut refused = 0;
    for r in gh.into_iter().filter(|r| r.status() != 200) {
        assert_eq!(r.status(), 403);
        assert_eq!(header(&r, "retry-after").as_deref(), Some("1"));
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["message"].as_str().unwrap().contains("secondary rate limit"),
            "{body}"
        );
        refused += 1;
    }
    assert_eq!(refused, 2);
    let stats: serde_json::Value = reqwest::get(format!("{}/sim/stats", sim.urls.admin))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stats["max_in_flight"]["jira"].as_u64().unwrap() >= 3, "{stats}");
    assert!(stats["max_in_flight"]["github"].as_u64().unwrap() >= 2, "{stats}");
    // Once the served ones are answered, the slots are free again.
    assert_eq!(jira_cloud(&sim, "myself").send().await.unwrap().status(), 200);
}
