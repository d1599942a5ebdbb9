//! Findings of the outside security test (issue #19), each shown fixed: floods and slow bodies
//! without logging in, stored secrets and new addresses, bounds on every page number, safe
//! `next=`, login throttling, the IPv6 private-address table, names and notices.

mod abuse;
mod input;
mod secrets;
mod websocket;

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::TestApp;

/// A raw HTTP/1.1 connection that sends `head` at once, then trickles `drip` every two seconds
/// until the service stops reading; returns everything the service sent before closing, or
/// `None` when it was still open after `wait`.
async fn trickle(app_host: &str, head: String, drip: &'static [u8], wait: Duration) -> Option<String> {
    let stream = tokio::net::TcpStream::connect(app_host).await.ok()?;
    let (mut reader, mut writer) = stream.into_split();
    let writer = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        loop {
            if writer.write_all(drip).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let mut got = Vec::new();
    let read = tokio::time::timeout(wait, reader.read_to_end(&mut got)).await;
    writer.abort();
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&got).into_owned()),
        Err(_) => None,
    }
}

fn host(app: &TestApp) -> String {
    app.address.trim_start_matches("http://").to_string()
}
