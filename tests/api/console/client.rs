//! A console user over plain HTTP: signs in with a token through the
//! sign-in form, keeps the session cookie and the page's CSRF token, and
//! posts forms as the browser would.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};

use crate::support::app::TestApp;

pub struct Console {
    pub base: String,
    pub client: reqwest::Client,
    /// `name=value` of the session cookie.
    pub cookie: String,
    pub set_cookie: String,
    pub csrf: String,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The value of `name="NAME" value="..."` in a page.
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &html[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_string()
}

pub fn set_cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

/// GET /console/login: the login cookie pair and the form's nonce.
pub async fn login_form(base: &str, client: &reqwest::Client) -> (String, String) {
    let resp = client
        .get(format!("{base}/console/login"))
        .send()
        .await
        .expect("login page");
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = set_cookies(resp.headers())
        .into_iter()
        .find(|c| c.starts_with("pingate_login="))
        .expect("login cookie");
    let html = resp.text().await.unwrap();
    (
        cookie_pair(&cookie),
        field_value(&html, "login_csrf").expect("login nonce"),
    )
}

/// Posts the sign-in form with `token`.
pub async fn submit_login(base: &str, client: &reqwest::Client, token: &str) -> reqwest::Response {
    let (cookie, nonce) = login_form(base, client).await;
    client
        .post(format!("{base}/console/login"))
        .header(COOKIE, cookie)
        .form(&[("access_token", token), ("login_csrf", nonce.as_str())])
        .send()
        .await
        .expect("sign in")
}

impl Console {
    pub async fn sign_in(app: &TestApp, token: &str) -> Console {
        Self::sign_in_at(&app.base, token).await
    }

    pub async fn sign_in_at(base: &str, token: &str) -> Console {
        let client = no_redirects();
        let resp = submit_login(base, &client, token).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "sign-in redirects");
        let set_cookie = set_cookies(resp.headers())
            .into_iter()
            .find(|c| c.starts_with("pingate_session="))
            .expect("session cookie");
        let mut c = Console {
            base: base.to_string(),
            client,
            cookie: cookie_pair(&set_cookie),
            set_cookie,
            csrf: String::new(),
        };
        let start = resp.headers()["location"].to_str().unwrap().to_string();
        let page = c.get(&start).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        c.csrf = field_value(&page.body, "csrf").expect("csrf in the page");
        c
    }

    pub async fn get(&self, path: &str) -> Page {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .expect("GET");
        Page {
            status: resp.status(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    /// Posts a form with this session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all = vec![("csrf", self.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly `fields` (no CSRF token added).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .form(fields)
            .send()
            .await
            .expect("POST");
        Page {
            status: resp.status(),
            headers: resp.headers().clone(),
            body: resp.text().await.unwrap(),
        }
    }

    /// Posts, follows the redirect, returns the page it leads to.
    pub async fn act(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let p = self.post(path, fields).await;
        if p.status != StatusCode::SEE_OTHER {
            return p;
        }
        let to = p.headers["location"].to_str().unwrap().to_string();
        self.get(&to).await
    }
}

/// The id in `.../challenges/{id}/check` on a call page.
pub fn challenge_id(html: &str) -> Option<String> {
    let at = html.find("/console/challenges/")?;
    let rest = &html[at + "/console/challenges/".len()..];
    Some(rest[..rest.find('/')?].to_string())
}
