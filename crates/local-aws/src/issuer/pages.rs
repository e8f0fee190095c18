//! The hosted-UI-like HTML pages (sign-in, sign-up, confirmation, mailbox, errors): plain
//! server-rendered HTML with inline CSS and no JavaScript; everything echoed is escaped.

use super::PasswordPolicy;
use super::csrf::CSRF_FIELD;
use super::params::AuthParams;

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f2f3f3;margin:0;color:#16191f}\
main{max-width:380px;margin:48px auto;background:#fff;padding:28px 32px;border-radius:8px;\
box-shadow:0 1px 4px rgba(0,0,0,.15)}main.wide{max-width:760px}h1{font-size:1.35em;margin-top:0}\
label{display:block;margin:14px 0 4px;font-weight:600}input[type=email],input[type=password],\
input[type=text]{width:100%;box-sizing:border-box;padding:8px;border:1px solid #aab7b8;border-radius:4px;\
font-size:1em}button{margin-top:18px;width:100%;padding:10px;background:#0972d3;color:#fff;border:0;\
border-radius:4px;font-size:1em;cursor:pointer}button.link{background:none;color:#0972d3;padding:0;\
margin-top:8px;width:auto;text-decoration:underline}.error{background:#fdecea;color:#8a1c12;padding:10px;\
border-radius:4px}.notice{background:#e7f4e4;color:#1d5b17;padding:10px;border-radius:4px}\
.muted{color:#5f6b7a;font-size:.9em}table{border-collapse:collapse;width:100%}td,th{text-align:left;\
padding:6px 8px;border-bottom:1px solid #e9ebed}code{font-size:1.15em;letter-spacing:.1em}";

/// A complete page around `body`.
fn layout(title: &str, body: &str, wide: bool) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} - local Cognito</title><style>{STYLE}</style></head>\
         <body><main{class}><h1>{title}</h1>{body}\
         <p class=\"muted\">Local Cognito-compatible issuer (no AWS account involved).</p></main>\
         </body></html>\n",
        title = escape(title),
        class = if wide { " class=\"wide\"" } else { "" },
    )
}

/// The OAuth parameters and the form token (`_csrf`) as hidden form fields.
fn hidden_fields(params: &AuthParams, csrf: &str) -> String {
    std::iter::once((CSRF_FIELD, csrf))
        .chain(params.pairs())
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(value)
            )
        })
        .collect()
}

fn messages(error: Option<&str>, notice: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(notice) = notice {
        out.push_str(&format!("<p class=\"notice\">{}</p>", escape(notice)));
    }
    if let Some(error) = error {
        out.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(error)
        ));
    }
    out
}

/// The sign-in page.
pub(crate) fn login(
    params: &AuthParams,
    csrf: &str,
    email: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> String {
    let body = format!(
        "{messages}<form method=\"post\" action=\"/login\">{hidden}\
         <label for=\"email\">Email</label>\
         <input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>\
         <p>Need an account? <a href=\"{signup}\">Sign up</a></p>\
         <p class=\"muted\">Verification codes are on the console and in the <a href=\"/mailbox\">local mailbox</a>.</p>",
        messages = messages(error, notice),
        hidden = hidden_fields(params, csrf),
        email = escape(email),
        signup = escape(&params.url("/signup", &[])),
    );
    layout("Sign in", &body, false)
}

/// The sign-up page, with the password rules.
pub(crate) fn signup(
    params: &AuthParams,
    csrf: &str,
    email: &str,
    error: Option<&str>,
    policy: &PasswordPolicy,
) -> String {
    let mut rules = vec![format!("at least {} characters", policy.min_length)];
    for (required, rule) in [
        (policy.require_lowercase, "a lowercase letter"),
        (policy.require_uppercase, "an uppercase letter"),
        (policy.require_numbers, "a number"),
        (policy.require_symbols, "a symbol"),
    ] {
        if required {
            rules.push(rule.to_owned());
        }
    }
    let body = format!(
        "{messages}<form method=\"post\" action=\"/signup\">{hidden}\
         <label for=\"email\">Email</label>\
         <input id=\"email\" type=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"username\" required autofocus>\
         <label for=\"password\">Password</label>\
         <input id=\"password\" type=\"password\" name=\"password\" autocomplete=\"new-password\" required>\
         <p class=\"muted\">Password: {rules}.</p>\
         <button type=\"submit\">Sign up</button></form>\
         <p>Already have an account? <a href=\"{login}\">Sign in</a></p>",
        messages = messages(error, None),
        hidden = hidden_fields(params, csrf),
        email = escape(email),
        rules = escape(&rules.join(", ")),
        login = escape(&params.url("/login", &[])),
    );
    layout("Sign up", &body, false)
}

/// The confirmation-code page.
pub(crate) fn confirm(
    params: &AuthParams,
    csrf: &str,
    email: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> String {
    let hidden = hidden_fields(params, csrf);
    let body = format!(
        "{messages}<p>We have sent a code by email to <b>{email}</b>. Enter it below to confirm \
         your account. (Locally, the code is on the console and in the \
         <a href=\"/mailbox\">mailbox</a>.)</p>\
         <form method=\"post\" action=\"/confirm\">{hidden}\
         <input type=\"hidden\" name=\"email\" value=\"{email}\">\
         <label for=\"code\">Verification code</label>\
         <input id=\"code\" type=\"text\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required autofocus>\
         <button type=\"submit\">Confirm account</button></form>\
         <form method=\"post\" action=\"/confirm\">{hidden}\
         <input type=\"hidden\" name=\"email\" value=\"{email}\">\
         <input type=\"hidden\" name=\"action\" value=\"resend\">\
         <button class=\"link\" type=\"submit\">Resend code</button></form>",
        messages = messages(error, notice),
        email = escape(email),
    );
    layout("Confirm your account", &body, false)
}

/// A page with a message only (errors and dead ends).
pub(crate) fn message(title: &str, text: &str, is_error: bool) -> String {
    let body = if is_error {
        messages(Some(text), None)
    } else {
        messages(None, Some(text))
    };
    layout(title, &body, false)
}

/// One verification message of the mailbox page.
pub(crate) struct MailboxEntry {
    pub email: String,
    pub code: String,
    pub sent_at: String,
    pub status: &'static str,
}

/// The local mailbox: the latest verification message per email, newest first.
pub(crate) fn mailbox(entries: &[MailboxEntry]) -> String {
    let body = if entries.is_empty() {
        "<p>No verification messages yet. Sign up to get one.</p>".to_owned()
    } else {
        let rows: String = entries
            .iter()
            .map(|entry| {
                format!(
                    "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    escape(&entry.email),
                    escape(&entry.code),
                    escape(&entry.sent_at),
                    escape(entry.status),
                )
            })
            .collect();
        format!(
            "<p>The latest verification message per email: the local stand-in for email delivery.</p>\
             <table><thead><tr><th>Email</th><th>Code</th><th>Sent (UTC)</th><th>Status</th></tr></thead>\
             <tbody>{rows}</tbody></table>"
        )
    };
    layout("Local mailbox", &body, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_echoed_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
        let params = AuthParams {
            state: Some("\"><script>".into()),
            ..AuthParams::default()
        };
        let page = login(&params, "t\"ok", "<b>@x.co", Some("<err>"), None);
        assert!(!page.contains("<script>"));
        assert!(!page.contains("<b>@"));
        assert!(!page.contains("<err>"));
        assert!(page.contains("name=\"state\" value=\"&quot;&gt;&lt;script&gt;\""));
        assert!(page.contains("name=\"_csrf\" value=\"t&quot;ok\""));
    }
}
