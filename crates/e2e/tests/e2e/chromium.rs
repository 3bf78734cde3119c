//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`, through
//! the `fantoccini` client), and the screenshots of the real-browser tests. Without Chromium the
//! tests skip with a notice, unless `PORTCULLIS_E2E_CHROMIUM` is set (`.ci/run` sets it after
//! installing the packages), in which case they fail.
//!
//! Each screen a test visits is saved as a PNG under `$PORTCULLIS_SCREENSHOT_DIR`, else
//! `<target dir>/browser-screenshots`, in a folder named after the test; the folder is removed
//! when the test passes (unless `PORTCULLIS_KEEP_SCREENSHOTS` is set) and kept, with its path in
//! the failure message, when it fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

/// Where Debian installs them.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Set to make the real-browser tests fail instead of skipping when Chromium is missing.
const REQUIRED: &str = "PORTCULLIS_E2E_CHROMIUM";
/// How long chromedriver may take to answer its status (a bound, not a timing assertion).
const START_DEADLINE: Duration = Duration::from_secs(30);
/// How long a click may take to lead to the next page (a bound, not a timing assertion).
const NAVIGATION_DEADLINE: Duration = Duration::from_secs(30);

/// A running chromedriver, killed when dropped.
pub struct Chromium {
    url: String,
    _driver: Child,
}

impl Chromium {
    /// Starts chromedriver on a free loopback port; `None` (after a notice) when Chromium is not
    /// installed and not required.
    pub async fn start() -> Option<Self> {
        let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
        if !missing.is_empty() {
            let why = format!(
                "{} missing (apt-get install chromium chromium-driver)",
                missing.join(" and ")
            );
            if std::env::var_os(REQUIRED).is_some() {
                panic!("the real-browser tests are required ({REQUIRED} is set): {why}");
            }
            eprintln!("skipping a real-browser test: {why}");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + START_DEADLINE;
        let http = reqwest::Client::new();
        loop {
            let ready = http
                .get(format!("{url}/status"))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if ready.is_some() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer within {START_DEADLINE:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(Self {
            url,
            _driver: driver,
        })
    }

    /// A new headless browser whose `Accept-Language` is `accept_language`.
    pub async fn browser(&self, accept_language: &str) -> Client {
        let options = json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--window-size=1000,900",
                format!("--accept-lang={accept_language}"),
                format!("--lang={accept_language}"),
            ],
            "prefs": { "intl.accept_languages": accept_language },
        });
        let mut caps = Capabilities::new();
        caps.insert("goog:chromeOptions".to_owned(), options);
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

/// The screenshots of one test: kept when it fails, removed when it passes.
pub struct Screens {
    dir: PathBuf,
    taken: usize,
}

impl Screens {
    /// The folder for `test`, emptied.
    pub fn new(test: &str) -> Self {
        let root = std::env::var_os("PORTCULLIS_SCREENSHOT_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("browser-screenshots"));
        let dir = root.join(test);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        Self { dir, taken: 0 }
    }

    /// Where this test's screenshots are.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Saves what `browser` shows as `NN-name.png`.
    pub async fn take(&mut self, browser: &Client, name: &str) {
        self.taken += 1;
        let png = browser.screenshot().await.expect("a screenshot");
        let path = self.dir.join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&path, png).expect("write the screenshot");
    }
}

impl Drop for Screens {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("screenshots of the failed test: {}", self.dir.display());
        } else if std::env::var_os("PORTCULLIS_KEEP_SCREENSHOTS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `<target dir>` of this test binary (`<target>/<profile>/deps/<binary>`).
fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir)
}

/// The text of the first element matching `css`.
pub async fn text(browser: &Client, css: &str) -> String {
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .expect("its text")
}

/// The value of a script's `return`.
pub async fn eval(browser: &Client, script: &str) -> Value {
    browser
        .execute(script, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// Types `value` into the field `css`, replacing what it held.
pub async fn fill(browser: &Client, css: &str, value: &str) {
    let field = browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    field.clear().await.expect("clearing");
    field.send_keys(value).await.expect("typing");
}

/// Clicks the element `css`, which submits a form or follows a link, and waits until the next
/// page has replaced this one and finished loading (the old page is marked before the click, so
/// a page still showing the mark has not been replaced yet).
pub async fn click(browser: &Client, css: &str) {
    eval(browser, "window.portcullisOldPage = true; return null").await;
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .expect("clicking");
    let deadline = Instant::now() + NAVIGATION_DEADLINE;
    loop {
        let replaced = browser
            .execute(
                "return !window.portcullisOldPage && document.readyState === 'complete'",
                Vec::new(),
            )
            .await
            .ok()
            .and_then(|v| v.as_bool());
        if replaced == Some(true) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "clicking {css} did not lead to a new page within {NAVIGATION_DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
