//! Headless Chromium driven over the DevTools protocol (a websocket, JSON commands): open a page,
//! run script in it, wait for what it shows. Enough to log in to the dashboard like a person.
#![allow(dead_code)]

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

pub const CHROMIUM: &str = "/usr/bin/chromium";

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One Chromium with one page attached.
pub struct Browser {
    child: Child,
    socket: Socket,
    session: String,
    next_id: u64,
    /// An evaluation during a navigation answers `null` instead of failing (while waiting).
    tolerate_navigation: bool,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts Chromium with a fresh profile and opens a blank page.
    pub async fn start() -> Self {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Chromium names its websocket on stderr.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx.recv_timeout(Duration::from_secs(30)).expect("Chromium did not open its DevTools socket");
        let (socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
        let mut b =
            Self { child, socket, session: String::new(), next_id: 0, tolerate_navigation: false, _profile: profile };
        let target = b.command(None, "Target.createTarget", json!({ "url": "about:blank" })).await;
        let attached =
            b.command(None, "Target.attachToTarget", json!({ "targetId": target["targetId"], "flatten": true })).await;
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        b
    }

    /// Sends a command (to the page when `session` is set) and returns its result.
    async fn command(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.socket.send(Message::Text(msg.to_string().into())).await.unwrap();
        loop {
            let next = tokio::time::timeout(Duration::from_secs(30), self.socket.next()).await;
            let Ok(Some(Ok(Message::Text(text)))) = next else { continue };
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["id"] == id {
                // A page that is navigating (a form submitted, a reload) answers an evaluation
                // with an error: a waiting caller tries again, any other fails here.
                let navigating = v["error"]["message"].as_str().is_some_and(|m| m.contains("navigated"));
                if navigating && self.tolerate_navigation {
                    return Value::Null;
                }
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
        }
    }

    /// Opens `url` in the page.
    pub async fn navigate(&mut self, url: &str) {
        let session = self.session.clone();
        self.command(Some(&session), "Page.navigate", json!({ "url": url })).await;
    }

    /// Makes the page `width` x `height` CSS pixels, as a phone's screen (reload to lay it out anew).
    pub async fn viewport(&mut self, width: u32, height: u32) {
        let session = self.session.clone();
        let params = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": true });
        self.command(Some(&session), "Emulation.setDeviceMetricsOverride", params).await;
    }

    /// Evaluates `expression` in the page (awaiting a promise) and returns its value.
    pub async fn eval(&mut self, expression: &str) -> Value {
        let session = self.session.clone();
        let params = json!({ "expression": expression, "returnByValue": true, "awaitPromise": true });
        self.command(Some(&session), "Runtime.evaluate", params).await["result"]["value"].clone()
    }

    /// Waits until `condition` (a script expression) is true; the page's HTML at that moment.
    pub async fn wait_for(&mut self, condition: &str, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.tolerate_navigation = true;
            let met = self.eval(&format!("Boolean({condition})")).await == json!(true);
            self.tolerate_navigation = false;
            if met {
                return self.eval("document.documentElement.outerHTML").await.as_str().unwrap_or("").to_string();
            }
            if Instant::now() > deadline {
                let html = self.eval("document.documentElement.outerHTML").await;
                panic!("timed out waiting for {what}: {html}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
