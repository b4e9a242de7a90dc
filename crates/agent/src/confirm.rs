//! The person's confirmation: nothing is signed until the person at this computer has
//! read who asks (the page's origin), what (the endpoint, the document's name, size and
//! SHA-256), from where and to where (both URLs) and with which certificate, agreed, and
//! typed the token's PIN — locally, never through the page. One confirmation at a time.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::config::ConfirmMode;

/// The line that asks for the decision (tests and scripts wait for it).
pub const CONFIRM_PROMPT: &str = "Ký văn bản này?";
/// The line that asks for the PIN.
pub const PIN_PROMPT: &str = "Mã PIN:";

/// How long a question waits for an answer before it counts as a refusal.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);

/// What is shown to the person.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// Request number (for the log).
    pub id: u64,
    /// The page's origin.
    pub origin: String,
    /// The endpoint and what it is for.
    pub action: String,
    /// One line per document: name, size, SHA-256 (or the digest for SignMsg).
    pub documents: Vec<String>,
    /// Where the documents come from.
    pub source: Vec<String>,
    /// Where the signed files go.
    pub destination: Option<String>,
    /// The signing certificate's subject.
    pub signer: String,
}

impl Prompt {
    /// The text of the question, Vietnamese then English labels.
    pub fn text(&self) -> String {
        let mut t = format!(
            "kyso agent — yêu cầu ký số #{}\n  Trang yêu cầu: {}\n  Việc: {}\n",
            self.id, self.origin, self.action
        );
        for d in &self.documents {
            t.push_str(&format!("  Tài liệu: {d}\n"));
        }
        for s in &self.source {
            t.push_str(&format!("  Tải về từ: {s}\n"));
        }
        if let Some(d) = &self.destination {
            t.push_str(&format!("  Gửi bản đã ký tới: {d}\n"));
        }
        t.push_str(&format!("  Chứng thư ký: {}\n", self.signer));
        t
    }
}

/// The person's answer (`Debug` never shows the PIN).
pub enum Answer {
    /// Agreed, with the PIN (zeroized when dropped).
    Sign(Zeroizing<String>),
    /// Refused, or no answer in time.
    Refuse,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Answer::Sign(_) => "Sign(***)",
            Answer::Refuse => "Refuse",
        })
    }
}

/// Asks the person.
pub trait Confirmer: Send + Sync {
    /// Show `prompt`, ask for agreement and the PIN. Blocking.
    fn ask(&self, prompt: &Prompt) -> Answer;
}

/// The confirmer of `mode`.
pub fn confirmer(mode: ConfirmMode) -> Box<dyn Confirmer> {
    match mode {
        ConfirmMode::Terminal => Box::new(Terminal::new()),
        ConfirmMode::Dialog => Box::new(Dialog),
    }
}

/// Questions on stderr, answers from stdin. On a terminal the PIN is read without
/// echo; from a pipe (scripts, tests) answers are lines, and a question unanswered
/// within [`ANSWER_TIMEOUT`] is a refusal (lines typed before a question are dropped,
/// so a late "c" never approves the next request).
#[derive(Debug)]
pub struct Terminal {
    lines: Option<Mutex<Receiver<Option<String>>>>,
    turn: Mutex<()>,
}

impl Terminal {
    fn new() -> Self {
        let lines = if std::io::stdin().is_terminal() {
            None
        } else {
            let (tx, rx) = channel();
            std::thread::spawn(move || {
                let stdin = std::io::stdin();
                for line in stdin.lock().lines() {
                    match line {
                        Ok(l) => {
                            if tx.send(Some(l)).is_err() {
                                return;
                            }
                        }
                        Err(_) => break,
                    }
                }
                let _ = tx.send(None);
            });
            Some(Mutex::new(rx))
        };
        Self {
            lines,
            turn: Mutex::new(()),
        }
    }

    fn read_line(&self, rx: &Receiver<Option<String>>) -> Option<Zeroizing<String>> {
        match rx.recv_timeout(ANSWER_TIMEOUT) {
            Ok(Some(l)) => Some(Zeroizing::new(l)),
            Ok(None) | Err(RecvTimeoutError::Disconnected) | Err(RecvTimeoutError::Timeout) => None,
        }
    }
}

fn agreed(answer: &str) -> bool {
    matches!(
        answer.trim().to_lowercase().as_str(),
        "c" | "co" | "có" | "y" | "yes"
    )
}

impl Confirmer for Terminal {
    fn ask(&self, prompt: &Prompt) -> Answer {
        let _turn = self.turn.lock().unwrap_or_else(|p| p.into_inner());
        // Lines typed before the question are not answers to it.
        let lines = self
            .lines
            .as_ref()
            .map(|rx| rx.lock().unwrap_or_else(|p| p.into_inner()));
        if let Some(rx) = &lines {
            while let Ok(Some(_stale)) = rx.try_recv() {}
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "\n{}", prompt.text());
        let _ = writeln!(
            err,
            "{CONFIRM_PROMPT} Gõ \"c\" rồi Enter để ký, chỉ Enter để từ chối."
        );
        let _ = err.flush();
        match lines {
            Some(rx) => {
                let Some(answer) = self.read_line(&rx) else {
                    let _ = writeln!(err, "Không có trả lời: đã từ chối ký.");
                    return Answer::Refuse;
                };
                if !agreed(&answer) {
                    let _ = writeln!(err, "Đã từ chối ký.");
                    return Answer::Refuse;
                }
                let _ = writeln!(err, "{PIN_PROMPT}");
                let _ = err.flush();
                match self.read_line(&rx) {
                    Some(pin) if !pin.trim().is_empty() => {
                        Answer::Sign(Zeroizing::new(pin.trim().to_string()))
                    }
                    _ => Answer::Refuse,
                }
            }
            None => {
                let mut answer = Zeroizing::new(String::new());
                if std::io::stdin().read_line(&mut answer).is_err() || !agreed(&answer) {
                    let _ = writeln!(err, "Đã từ chối ký.");
                    return Answer::Refuse;
                }
                drop(err);
                match rpassword::prompt_password(format!("{PIN_PROMPT} ")) {
                    Ok(pin) if !pin.is_empty() => Answer::Sign(Zeroizing::new(pin)),
                    Ok(mut pin) => {
                        zeroize::Zeroize::zeroize(&mut pin);
                        Answer::Refuse
                    }
                    Err(_) => Answer::Refuse,
                }
            }
        }
    }
}

/// A window of the desktop session ([`crate::os::dialog_confirm`],
/// [`crate::os::dialog_pin`]).
#[derive(Debug)]
pub struct Dialog;

static DIALOG_TURN: Mutex<()> = Mutex::new(());

impl Confirmer for Dialog {
    fn ask(&self, prompt: &Prompt) -> Answer {
        let _turn = DIALOG_TURN.lock().unwrap_or_else(|p| p.into_inner());
        let text = prompt.text();
        if !crate::os::dialog_confirm(&text) {
            return Answer::Refuse;
        }
        match crate::os::dialog_pin(&format!("{}\n{PIN_PROMPT}", prompt.signer)) {
            Some(pin) if !pin.is_empty() => Answer::Sign(pin),
            _ => Answer::Refuse,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_yes_agrees() {
        for a in ["c", "C", " có ", "y", "yes"] {
            assert!(agreed(a), "{a}");
        }
        for a in ["", "k", "không", "n", "cc", "c c"] {
            assert!(!agreed(a), "{a}");
        }
    }

    #[test]
    fn the_prompt_names_site_document_and_both_urls() {
        let p = Prompt {
            id: 7,
            origin: "https://eoffice.cantho.gov.vn".into(),
            action: "SignApproved — lãnh đạo ký phê duyệt".into(),
            documents: vec!["qd-15.pdf — 1 048 576 byte".into()],
            source: vec!["https://eoffice.cantho.gov.vn/f/15".into()],
            destination: Some("https://eoffice.cantho.gov.vn/upload".into()),
            signer: "CN=Trần Văn Bình".into(),
        };
        let t = p.text();
        for part in [
            "https://eoffice.cantho.gov.vn\n",
            "qd-15.pdf",
            "/f/15",
            "/upload",
            "Trần Văn Bình",
        ] {
            assert!(t.contains(part), "{part}: {t}");
        }
    }
}
