//! A scripted browser: a cookie-keeping HTTP client that never follows redirects by itself,
//! walks the authorization flow (login page, consent page) and records every hop.

use crate::html::{self, Form};
use anyhow::{Context as _, anyhow, bail};
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Client, Method, StatusCode};
use url::Url;

/// Words that identify the "approve" control of a consent page.
const APPROVE_WORDS: &[&str] = &["allow", "approve", "accept", "grant", "yes", "authorize"];
/// Words that identify the "deny" control of a consent page.
const DENY_WORDS: &[&str] = &["deny", "reject", "decline", "cancel", "refuse"];
/// A flow that needs more hops than this is looping.
const MAX_HOPS: usize = 12;

/// What the scripted user does on a consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// Press the approve button.
    Approve,
    /// Press the deny button.
    Deny,
}

/// One HTTP exchange of a flow.
#[derive(Debug, Clone)]
pub struct Hop {
    /// `GET` or `POST`.
    pub method: Method,
    /// The URL requested.
    pub url: Url,
    /// The response status.
    pub status: StatusCode,
    /// The `Location` header, if any.
    pub location: Option<String>,
    /// Every response header.
    pub headers: HeaderMap,
}

/// A response read to the end.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL requested.
    pub url: Url,
    /// The response status.
    pub status: StatusCode,
    /// Every response header.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl Page {
    /// The value of the first field named `name` in any form of the page (a CSRF token).
    pub fn form_field(&self, name: &str) -> Option<String> {
        self.forms()
            .into_iter()
            .find_map(|f| f.fields.into_iter().find(|(n, _)| n == name))
            .map(|(_, value)| value)
    }

    /// The forms of the page.
    pub fn forms(&self) -> Vec<Form> {
        html::forms(&self.body)
    }

    /// The login form (the first form with a password input).
    pub fn login_form(&self) -> Option<Form> {
        self.forms().into_iter().find(Form::has_password)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Location` header resolved against the page URL.
    pub fn location(&self) -> Option<Url> {
        let raw = self.header("location")?;
        self.url.join(raw).ok()
    }
}

/// How a walk through the authorization flow ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The server redirected the browser away from itself (to the client's redirect URI).
    Redirect(Url),
    /// The server answered with a page the script could not act on (an error page, or a login
    /// page when no credentials were given).
    Page(Page),
}

impl Outcome {
    /// The redirect target, or an error describing the page reached instead.
    pub fn redirect(self) -> anyhow::Result<Url> {
        match self {
            Self::Redirect(url) => Ok(url),
            Self::Page(page) => Err(anyhow!(
                "expected a redirect to the client, got {} at {}: {}",
                page.status,
                page.url,
                html::title(&page.body).unwrap_or_else(|| page.body.chars().take(300).collect())
            )),
        }
    }
}

/// A browser with a cookie jar and redirects off.
#[derive(Debug, Clone)]
pub struct Browser {
    client: Client,
    base: Url,
    /// Every exchange so far, oldest first.
    hops: std::sync::Arc<std::sync::Mutex<Vec<Hop>>>,
}

impl Browser {
    /// A browser whose "own site" is `base` (the issuer): redirects to it are followed,
    /// redirects elsewhere end a walk.
    pub fn new(base: Url) -> anyhow::Result<Self> {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the browser client")?;
        Ok(Self {
            client,
            base,
            hops: Default::default(),
        })
    }

    /// The underlying client (cookies included, redirects off).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Every exchange so far.
    pub fn hops(&self) -> Vec<Hop> {
        self.hops.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// GET a URL and read the page.
    pub async fn get(&self, url: &Url) -> anyhow::Result<Page> {
        self.send(Method::GET, url, None).await
    }

    /// Submit a form found on `page` with the given button (`(name, value)`; an empty name
    /// means no button value is sent).
    pub async fn submit(
        &self,
        page: &Page,
        form: &Form,
        button: Option<(String, String)>,
    ) -> anyhow::Result<Page> {
        let target = if form.action.is_empty() {
            page.url.clone()
        } else {
            page.url.join(&form.action).context("form action")?
        };
        let mut fields = form.fields.clone();
        if let Some((name, value)) = button.filter(|(n, _)| !n.is_empty()) {
            fields.push((name, value));
        }
        if form.method == "post" {
            self.send(Method::POST, &target, Some(&fields)).await
        } else {
            let mut url = target;
            url.query_pairs_mut().extend_pairs(fields.iter());
            self.send(Method::GET, &url, None).await
        }
    }

    /// POST a form body to a URL.
    pub async fn post_form(&self, url: &Url, fields: &[(String, String)]) -> anyhow::Result<Page> {
        self.send(Method::POST, url, Some(fields)).await
    }

    async fn send(
        &self,
        method: Method,
        url: &Url,
        form: Option<&[(String, String)]>,
    ) -> anyhow::Result<Page> {
        let mut req = self.client.request(method.clone(), url.clone());
        if let Some(fields) = form {
            req = req.form(fields);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("{method} {url}"))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap_or_default();
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Ok(mut hops) = self.hops.lock() {
            hops.push(Hop {
                method,
                url: url.clone(),
                status,
                location,
                headers: headers.clone(),
            });
        }
        Ok(Page {
            url: url.clone(),
            status,
            headers,
            body,
        })
    }

    fn is_own(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    /// Starts at `url` (an authorize URL) and walks the flow: follows redirects within the
    /// server, signs in with `login` when a login form appears, answers consent pages with
    /// `consent`, and stops at the first redirect that leaves the server.
    pub async fn walk(
        &self,
        url: &Url,
        login: Option<(&str, &str)>,
        consent: Consent,
    ) -> anyhow::Result<Outcome> {
        let mut page = self.get(url).await?;
        self.walk_from(&mut page, login, consent).await
    }

    /// Continues a walk from a page already fetched.
    pub async fn walk_from(
        &self,
        page: &mut Page,
        login: Option<(&str, &str)>,
        consent: Consent,
    ) -> anyhow::Result<Outcome> {
        let mut logged_in = false;
        for _ in 0..MAX_HOPS {
            if page.status.is_redirection() {
                let next = page.location().context("redirect without a Location")?;
                if !self.is_own(&next) {
                    return Ok(Outcome::Redirect(next));
                }
                *page = self.get(&next).await?;
                continue;
            }
            if !page.status.is_success() {
                return Ok(Outcome::Page(page.clone()));
            }
            if let Some(mut form) = page.login_form() {
                let Some((user, pass)) = login.filter(|_| !logged_in) else {
                    return Ok(Outcome::Page(page.clone()));
                };
                let user_field = form
                    .username_field()
                    .context("login form without a username box")?
                    .to_owned();
                let pass_field = form
                    .password_field()
                    .context("login form without a password box")?
                    .to_owned();
                form.set(&user_field, user);
                form.set(&pass_field, pass);
                let button = form.buttons.first().cloned();
                logged_in = true;
                *page = self.submit(&page.clone(), &form, button).await?;
                continue;
            }
            let words = match consent {
                Consent::Approve => APPROVE_WORDS,
                Consent::Deny => DENY_WORDS,
            };
            let forms = page.forms();
            let choice = forms
                .iter()
                .find_map(|f| f.button_matching(words).map(|b| (f.clone(), Some(b))))
                .or_else(|| {
                    forms
                        .iter()
                        .find(|f| {
                            let action = f.action.to_ascii_lowercase();
                            words.iter().any(|w| action.contains(w))
                        })
                        .map(|f| (f.clone(), None))
                });
            let Some((form, button)) = choice else {
                return Ok(Outcome::Page(page.clone()));
            };
            *page = self.submit(&page.clone(), &form, button).await?;
        }
        bail!("the flow did not finish within {MAX_HOPS} hops")
    }
}
