//! Browser tests: the real server driven in a real Chromium through
//! WebDriver (chromedriver). They run when `PINGATE_TEST_CHROMEDRIVER`
//! names the chromedriver binary; without it they are compiled as ignored
//! tests with that reason (`build.rs`). One browser
//! session walks the agent's whole verification and then a reviewer's
//! audit, as one person at one desk would; a failing step saves a
//! screenshot under target/browser-failures/. The steps also take the
//! screenshots docs/console.md shows (into `PINGATE_TEST_SCREENSHOTS`,
//! default target/browser-screenshots).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::support::app::{ACCOUNT_SID, Engine, TestApp, call_sid, wrong_pin};

const WAIT: Duration = Duration::from_secs(15);
type Step<T = ()> = Result<T, String>;

fn err(step: &str) -> impl Fn(fantoccini::error::CmdError) -> String + '_ {
    move |e| format!("{step}: {e}")
}

struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a
    /// fresh profile; None (and a line saying so) without a chromedriver.
    async fn start(test: &str) -> Option<Browser> {
        let Some(driver_bin) =
            std::env::var_os("PINGATE_TEST_CHROMEDRIVER").filter(|v| !v.is_empty())
        else {
            eprintln!(
                "SKIPPED {test}: set PINGATE_TEST_CHROMEDRIVER=/usr/bin/chromedriver (apt-get install chromium chromium-driver) to run the browser tests"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let chromium =
            std::env::var("PINGATE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = json!({ "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1280,800",
                     format!("--user-data-dir={}", profile.path().display())]
        }});
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen: retry the session until it does.
        let deadline = tokio::time::Instant::now() + WAIT;
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if tokio::time::Instant::now() > deadline => {
                    panic!("no WebDriver session: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        Some(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    async fn shot(&self, dir: &PathBuf, name: &str) -> Step {
        let png = self.client.screenshot().await.map_err(err("screenshot"))?;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join(name), png).map_err(|e| e.to_string())
    }

    /// Waits for an element whose own text contains `text`.
    async fn wait_text(&self, text: &str) -> Step {
        let xpath = format!(
            "//*[contains(normalize-space(.), \"{text}\") and not(*[contains(normalize-space(.), \"{text}\")])]"
        );
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::XPath(&xpath))
            .await
            .map(|_| ())
            .map_err(|e| format!("waiting for {text:?}: {e}"))
    }

    async fn wait_css(&self, css: &str) -> Step<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .map_err(|e| format!("waiting for {css}: {e}"))
    }

    async fn button(&self, label: &str) -> Step {
        let xpath = format!("//button[normalize-space(.)=\"{label}\"]");
        let b = self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::XPath(&xpath))
            .await
            .map_err(|e| format!("button {label:?}: {e}"))?;
        b.click().await.map_err(|e| format!("click {label:?}: {e}"))
    }

    async fn type_into(&self, css: &str, text: &str) -> Step {
        self.wait_css(css)
            .await?
            .send_keys(text)
            .await
            .map_err(|e| format!("typing into {css}: {e}"))
    }

    async fn js(&self, script: &str) -> Step<Value> {
        self.client
            .execute(script, vec![])
            .await
            .map_err(|e| format!("script {script:?}: {e}"))
    }

    async fn focused_id(&self) -> Step<String> {
        Ok(self
            .js("return document.activeElement && document.activeElement.id")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    async fn path(&self) -> Step<String> {
        Ok(self
            .client
            .current_url()
            .await
            .map_err(err("url"))?
            .path()
            .to_string())
    }

    /// Signs in by keyboard alone: the token field has the focus, Enter sends.
    async fn sign_in(&self, base: &str, token: &str) -> Step {
        self.client
            .goto(&format!("{base}/console/login"))
            .await
            .map_err(err("login page"))?;
        self.wait_css("#access-token").await?;
        if self.focused_id().await? != "access-token" {
            return Err("the Access token field does not have the focus".into());
        }
        self.type_into("#access-token", &format!("{token}\u{E007}"))
            .await?;
        self.wait_css("form[action='/console/logout']")
            .await
            .map(|_| ())
    }
}

fn screenshots_dir() -> PathBuf {
    std::env::var_os("PINGATE_TEST_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots")
        })
}

/// Under CI the browser tests must really run, not be compiled ignored.
#[test]
fn ci_runs_the_browser_tests() {
    if std::env::var_os("CI").is_some() && !cfg!(pingate_test_browser) {
        panic!(
            "CI is set but this build saw no PINGATE_TEST_CHROMEDRIVER: the browser tests would be skipped"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(pingate_test_browser),
    ignore = "browser test: set PINGATE_TEST_CHROMEDRIVER=/usr/bin/chromedriver to run it"
)]
async fn an_agent_verifies_a_caller_a_reviewer_verifies_the_log_and_an_admin_disables_a_principal_in_chromium()
 {
    let test = "browser: agent, reviewer and admin in Chromium";
    let Some(browser) = Browser::start(test).await else {
        return;
    };
    let app = TestApp::spawn(Engine::Sqlite, test).await.unwrap();
    app.import_contoso().await;
    let outcome = async {
        agent_steps(&browser, &app).await?;
        reviewer_steps(&browser, &app).await?;
        admin_steps(&browser, &app).await
    }
    .await;
    if let Err(e) = outcome {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-failures");
        let _ = browser.shot(&dir, "agent-reviewer-admin.png").await;
        let url = browser
            .client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        browser.stop().await;
        panic!("{e} (at {url}; screenshot in {})", dir.display());
    }
    browser.stop().await;
    app.shutdown().await;
}

async fn agent_steps(b: &Browser, app: &TestApp) -> Step {
    let (sid, call_id) = calls_list_steps(b, app).await?;
    let pin = pin_steps(b, app, &call_id).await?;
    grant_steps(b, app, &sid, &pin).await?;
    phone_layout(b, app).await?;
    b.button("Sign out").await?;
    b.wait_css("#access-token").await?;
    b.client
        .goto(&format!("{}/console/calls", app.base))
        .await
        .map_err(err("after sign-out"))?;
    if b.path().await? != "/console/login" {
        return Err("the session outlived sign-out".into());
    }
    Ok(())
}

/// Sign-in, and calls appearing live: returns (CallSid, call id).
async fn calls_list_steps(b: &Browser, app: &TestApp) -> Step<(String, String)> {
    b.sign_in(&app.base, &app.agent_token).await?;
    if b.path().await? != "/console/calls" {
        return Err(format!("an agent lands on {}", b.path().await?));
    }
    b.wait_text("No active calls.").await?;
    // A signed webhook: the call appears without a reload.
    let sid = call_sid();
    app.call(&sid, "+14155550123", None).await;
    let row = b.wait_css("#calls tr[data-call-id]").await?;
    let call_id = row
        .attr("data-call-id")
        .await
        .map_err(err("row"))?
        .unwrap_or_default();
    b.wait_text("PIN required").await?;
    let t = b.js("var t = document.querySelector('#calls time'); return [t.textContent, t.getAttribute('datetime'), t.title];").await?;
    if t[0] == t[1] || !t[2].as_str().unwrap_or_default().ends_with(" UTC") {
        return Err(format!(
            "times are not shown in local time with UTC on hover: {t}"
        ));
    }
    // A second caller, on a registered number with full attestation.
    app.call(&call_sid(), "+14155550100", Some("TN-Validation-Passed-A"))
        .await;
    b.wait_text("Trusted number").await?;
    b.shot(&screenshots_dir(), "calls.png").await?;
    Ok((sid, call_id))
}

/// Attach, send by email, a wrong PIN, a reload: returns the PIN.
async fn pin_steps(b: &Browser, app: &TestApp, call_id: &str) -> Step<String> {
    b.wait_css(&format!("tr[data-call-id='{call_id}'] a"))
        .await?
        .click()
        .await
        .map_err(err("open the call"))?;
    b.type_into("#org-ref", "40012345").await?;
    b.button("Attach").await?;
    b.wait_text("Organisation attached.").await?;
    b.wait_text("i***@contoso.example").await?;
    b.button("Send PIN by email").await?;
    b.wait_text("PIN sent.").await?;
    let pin = app.pin_from_email(1).await;

    b.type_into("#pin", wrong_pin(&pin)).await?;
    b.button("Check PIN").await?;
    b.wait_text("Wrong PIN. 4 attempts left.").await?;
    if b.focused_id().await? != "pin-error" {
        return Err(format!(
            "focus is on {:?}, not the refusal",
            b.focused_id().await?
        ));
    }
    // A reload mid-verification loses nothing.
    b.client.refresh().await.map_err(err("reload"))?;
    b.wait_text("Waiting for the PIN").await?;
    b.wait_text("4 of 5").await?;
    // Delivery status arrives by itself.
    b.wait_css("[data-delivery='sent'], [data-delivery='delivered']")
        .await?;
    b.type_into("#pin", "12").await?;
    b.shot(&screenshots_dir(), "call-verifying.png").await?;
    b.js("document.getElementById('pin').value = '';").await?;
    Ok(pin)
}

/// The right PIN, the live countdown, revoke, the call's end.
async fn grant_steps(b: &Browser, app: &TestApp, sid: &str, pin: &str) -> Step {
    b.type_into("#pin", pin).await?;
    b.button("Check PIN").await?;
    b.wait_css("#verified").await?;
    let first = b
        .wait_css("#grant-countdown")
        .await?
        .text()
        .await
        .map_err(err("countdown"))?;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let now = b
            .wait_css("#grant-countdown")
            .await?
            .text()
            .await
            .map_err(err("countdown"))?;
        if now != first && now.ends_with(" left") {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("the countdown did not move from {first:?}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.button("Revoke access").await?;
    b.wait_text("Access revoked.").await?;

    // The call ends: the page says so by itself.
    let resp = app
        .webhook(
            "/webhooks/twilio/status",
            &[
                ("CallSid", sid),
                ("AccountSid", ACCOUNT_SID),
                ("CallStatus", "completed"),
            ],
        )
        .await;
    if !resp.status().is_success() {
        return Err(format!("status webhook answered {}", resp.status()));
    }
    b.wait_css("#call-ended").await.map(|_| ())
}

/// At 390×844 nothing scrolls sideways and the controls stay reachable.
async fn phone_layout(b: &Browser, app: &TestApp) -> Step {
    b.client
        .set_window_size(390, 844)
        .await
        .map_err(err("phone size"))?;
    app.call(
        &call_sid(),
        "+8613800138000",
        Some("TN-Validation-Passed-B"),
    )
    .await;
    b.client
        .goto(&format!("{}/console/calls", app.base))
        .await
        .map_err(err("calls"))?;
    b.wait_css("#calls tr[data-call-id]").await?;
    let fits = b
        .js("return document.documentElement.scrollWidth <= window.innerWidth;")
        .await?;
    if fits != Value::Bool(true) {
        let w = b
            .js("return [document.documentElement.scrollWidth, window.innerWidth];")
            .await?;
        return Err(format!("the calls list scrolls sideways on a phone: {w}"));
    }
    b.shot(&screenshots_dir(), "calls-phone.png").await?;
    b.client
        .set_window_size(1280, 800)
        .await
        .map_err(err("desk size"))
}

async fn reviewer_steps(b: &Browser, app: &TestApp) -> Step {
    b.sign_in(&app.base, &app.reviewer_token).await?;
    if b.path().await? != "/console/audit" {
        return Err(format!("a reviewer lands on {}", b.path().await?));
    }
    b.wait_css("#events").await?;
    b.wait_text("authn_pin_success").await?;
    b.shot(&screenshots_dir(), "audit.png").await?;
    b.button("Verify log").await?;
    b.wait_text("The log is intact").await?;
    // A reviewer cannot open the agent's pages.
    b.client
        .goto(&format!("{}/console/calls", app.base))
        .await
        .map_err(err("calls as reviewer"))?;
    b.wait_text("Your role cannot open this page").await
}

/// An administrator disables the reviewer, confirming first.
async fn admin_steps(b: &Browser, app: &TestApp) -> Step {
    b.client
        .goto(&format!("{}/console/audit", app.base))
        .await
        .map_err(err("audit"))?;
    b.button("Sign out").await?;
    b.wait_css("#access-token").await?;
    b.sign_in(&app.base, &app.admin_token).await?;
    b.client
        .goto(&format!("{}/console/principals", app.base))
        .await
        .map_err(err("principals"))?;
    b.wait_css("tr[data-principal='rita'] button")
        .await?
        .click()
        .await
        .map_err(err("Disable rita"))?;
    b.wait_text("Disable rita?").await?;
    if b.path().await? != "/console/principals/rita/disable" {
        return Err(format!("Disable opened {}", b.path().await?));
    }
    b.button("Yes, disable rita").await?;
    b.wait_text("rita is disabled: its token and console sessions stopped working.")
        .await?;
    let focused = b.js("return document.activeElement.textContent;").await?;
    if !focused
        .as_str()
        .unwrap_or_default()
        .contains("rita is disabled")
    {
        return Err(format!("the focus is on {focused}, not the confirmation"));
    }
    let badge = b
        .wait_css("tr[data-principal='rita'] .badge")
        .await?
        .text()
        .await
        .map_err(err("badge"))?;
    if badge != "Disabled" {
        return Err(format!("rita's status reads {badge:?}"));
    }
    Ok(())
}
