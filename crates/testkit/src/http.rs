//! A small blocking client for kyso's JSON API: a cookie jar of one session cookie, the
//! CSRF header on changes, JSON and multipart bodies; every answer as (status, JSON).

use serde_json::Value;
use ureq::Agent;

/// One client (one browser, or one machine client with a bearer token).
#[derive(Debug, Clone)]
pub struct Client {
    agent: Agent,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    cookie: Option<String>,
    csrf: Option<String>,
    bearer: Option<String>,
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub json: Value,
    /// The body as text.
    pub text: String,
    /// Response headers (lower-case names).
    pub headers: Vec<(String, String)>,
}

impl Answer {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A multipart/form-data body.
#[derive(Debug, Default, Clone)]
pub struct Multipart {
    parts: Vec<(String, Option<String>, Vec<u8>)>,
}

impl Multipart {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// A text field.
    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.parts
            .push((name.to_string(), None, value.as_bytes().to_vec()));
        self
    }

    /// A file field.
    pub fn file(mut self, name: &str, file_name: &str, bytes: &[u8]) -> Self {
        self.parts.push((
            name.to_string(),
            Some(file_name.to_string()),
            bytes.to_vec(),
        ));
        self
    }

    /// The body and its content type.
    pub fn encode(&self) -> (Vec<u8>, String) {
        let boundary = format!("kyso-test-{}", hex::encode(rand::random::<[u8; 8]>()));
        let mut body = Vec::new();
        for (name, file, bytes) in &self.parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            match file {
                Some(f) => body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                ),
                None => body.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
                ),
            }
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (body, format!("multipart/form-data; boundary={boundary}"))
    }
}

impl Client {
    /// A client of the server at `base`.
    pub fn new(base: &str) -> Self {
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Self {
            agent,
            base: base.trim_end_matches('/').to_string(),
            cookie: None,
            csrf: None,
            bearer: None,
        }
    }

    /// The same server, authenticated by an API token.
    pub fn with_token(&self, token: &str) -> Self {
        let mut c = Self::new(&self.base);
        c.bearer = Some(token.to_string());
        c
    }

    /// The bearer token, if the client has one.
    pub fn bearer(&self) -> Option<&str> {
        self.bearer.as_deref()
    }

    /// Signs in with a password; keeps the cookie and the CSRF token. Returns the answer.
    pub fn login(&mut self, user: &str, password: &str) -> Answer {
        let a = self.post_json(
            "/api/v1/sessions",
            &serde_json::json!({"user": user, "password": password}),
        );
        self.adopt_session(&a);
        a
    }

    /// Keeps the session cookie and CSRF token of a successful sign-in answer (a
    /// password or a certificate login).
    pub fn adopt_session(&mut self, a: &Answer) {
        if a.status == 201 {
            self.cookie = a
                .header("set-cookie")
                .and_then(|c| c.split(';').next())
                .map(str::to_string);
            self.csrf = a.json["csrf_token"].as_str().map(str::to_string);
        }
    }

    /// Forgets the CSRF token (to test that changes without it are refused).
    pub fn drop_csrf(&mut self) {
        self.csrf = None;
    }

    fn request(&self, method: &str, path: &str) -> ureq::RequestBuilder<ureq::typestate::WithBody> {
        let url = format!("{}{}", self.base, path);
        let mut r = match method {
            "POST" => self.agent.post(&url),
            "PUT" => self.agent.put(&url),
            "PATCH" => self.agent.patch(&url),
            _ => self.agent.post(&url),
        };
        r = self.auth(r);
        r
    }

    fn auth<T>(&self, mut r: ureq::RequestBuilder<T>) -> ureq::RequestBuilder<T> {
        if let Some(c) = &self.cookie {
            r = r.header("Cookie", c);
        }
        if let Some(t) = &self.csrf {
            r = r.header("X-CSRF-Token", t);
        }
        if let Some(b) = &self.bearer {
            r = r.header("Authorization", &format!("Bearer {b}"));
        }
        r
    }

    fn answer(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        Self::try_answer(result).unwrap_or_else(|e| panic!("HTTP request failed: {e}"))
    }

    fn try_answer(
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer, ureq::Error> {
        let resp = result?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        let text = resp
            .into_body()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer {
            status,
            json,
            text,
            headers,
        })
    }

    /// POST JSON; a transport failure (a server that died) is an `Err`, not a panic.
    pub fn try_post_json(&self, path: &str, body: &Value) -> Result<Answer, ureq::Error> {
        Self::try_answer(self.request("POST", path).send_json(body))
    }

    /// GET.
    pub fn get(&self, path: &str) -> Answer {
        let url = format!("{}{}", self.base, path);
        Self::answer(self.auth(self.agent.get(&url)).call())
    }

    /// GET, the body as bytes.
    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let url = format!("{}{}", self.base, path);
        let resp = self
            .auth(self.agent.get(&url))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .with_config()
            .limit(512 * 1024 * 1024)
            .read_to_vec()
            .unwrap_or_default();
        (status, bytes)
    }

    /// DELETE.
    pub fn delete(&self, path: &str) -> Answer {
        let url = format!("{}{}", self.base, path);
        Self::answer(self.auth(self.agent.delete(&url)).call())
    }

    /// A JSON body with `method` (POST, PUT).
    pub fn send_json(&self, method: &str, path: &str, body: &Value) -> Answer {
        Self::answer(self.request(method, path).send_json(body))
    }

    /// POST JSON.
    pub fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.send_json("POST", path, body)
    }

    /// POST raw bytes with a content type.
    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> Answer {
        Self::answer(
            self.request("POST", path)
                .header("Content-Type", content_type)
                .send(body),
        )
    }

    /// POST an HTML form (`application/x-www-form-urlencoded`, values encoded here)
    /// with extra request headers, as a browser posts the web pages' forms.
    pub fn post_page_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut r = self
            .request("POST", path)
            .header("Content-Type", "application/x-www-form-urlencoded");
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        Self::answer(r.send(body.as_bytes()))
    }

    /// Uses `cookie` (a `Cookie` header's value) instead of the session's, e.g. the
    /// cookies a page's login set.
    pub fn use_cookie(&mut self, cookie: &str) {
        self.cookie = Some(cookie.to_string());
        self.csrf = None;
    }

    /// POST a multipart form.
    pub fn post_form(&self, path: &str, form: &Multipart) -> Answer {
        let (body, content_type) = form.encode();
        self.post_raw(path, &content_type, &body)
    }
}
