//! E-mail for the `email` notification method: SMTP with Flask-Mail's keys as Quay reads them
//! (`MAIL_SERVER`, `MAIL_PORT`, `MAIL_USE_TLS` = STARTTLS before anything else is sent,
//! `MAIL_USERNAME`/`MAIL_PASSWORD`, `MAIL_DEFAULT_SENDER`). The server's certificate is checked
//! against the system's roots and those of `MAIL_CA_FILE` (ours).

use crate::config::Config;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `None` without `MAIL_SERVER`.
    pub fn from_config(c: &Config, timeout: Duration) -> Result<Option<Mailer>, String> {
        if c.mail_server.trim().is_empty() {
            return Ok(None);
        }
        let host = c.mail_server.trim();
        let mut b = if c.mail_use_tls.0 {
            let mut tls = TlsParameters::builder(host.to_string());
            if let Some(path) = &c.mail_ca_file {
                let pem = std::fs::read(path).map_err(|e| format!("MAIL_CA_FILE {path}: {e}"))?;
                let cert = Certificate::from_pem(&pem).map_err(|e| format!("MAIL_CA_FILE {path}: {e}"))?;
                tls = tls.add_root_certificate(cert);
            }
            let tls = tls.build().map_err(|e| format!("MAIL_SERVER {host:?}: {e}"))?;
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).tls(Tls::Required(tls))
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        };
        b = b.port(c.mail_port).timeout(Some(timeout));
        if c.mail_username.is_some() && !c.mail_use_tls.0 {
            return Err("MAIL_USERNAME needs MAIL_USE_TLS: the password is never sent in clear".into());
        }
        if let Some(user) = &c.mail_username {
            let password = c.mail_password.as_ref().map(|p| p.expose().to_string()).unwrap_or_default();
            b = b.credentials(Credentials::new(user.clone(), password));
        }
        let from = c
            .mail_default_sender
            .parse::<Mailbox>()
            .map_err(|e| format!("MAIL_DEFAULT_SENDER {:?}: {e}", c.mail_default_sender))?;
        Ok(Some(Mailer { transport: b.build(), from }))
    }

    /// Sends one HTML message.
    pub async fn send(&self, to: &str, subject: &str, html: String) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("address {to:?}: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_HTML)
            .body(html)
            .map_err(|e| format!("message: {e}"))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| format!("SMTP: {e}"))
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mailer(from {})", self.from)
    }
}
