//! A device handover over HTTP, end to end, against a real `kyso serve` on loopback
//! with the agency device on SoftHSM2 attached to the server: the custodian requests →
//! a leader approves → the receiver accepts with the giver's PIN and a new PIN (a wrong
//! PIN is refused and changes nothing; afterwards the old PIN no longer opens the
//! device, the new one does) → giver and receiver sign the minutes two-step with
//! personal keys only the test holds → the receiver seals them with the device on the
//! server → the final minutes carry the three signatures, valid in `kyso verify` and
//! listed by `pdfsig`. No PIN ever appears in a response or in the server's log. On
//! SQLite and PostgreSQL.

use std::process::Command;

use kyso_testkit::http::{Answer, Client};
use serde_json::{Value, json};

use crate::office::{Office, Personal, login, on_both_backends, refused, sign_two_step, signature};
use crate::support::run;
use crate::token::MODULE;

const DEVICE: &str = "thiet-bi-ban-giao";
/// The giver's PIN (distinctive, so that a leak cannot hide among digits).
const OLD_PIN: &str = "Giao-PIN-5174";
/// The receiver's new PIN.
const NEW_PIN: &str = "Nhan-PIN-8326";
const GIVER: &str = "giaothietbi";
const RECEIVER: &str = "nhanthietbi";

struct Node {
    office: Office,
    giver: Personal,
    receiver: Personal,
}

impl Node {
    /// Whether `pin` opens the device (listing its keys logs in).
    fn pin_opens_device(&self, pin: &str) -> bool {
        run(self.office.hsm.kyso().env("KYSO_PIN", pin).args([
            "token",
            "list",
            "--pkcs11",
            MODULE,
            "--token-label",
            DEVICE,
            "--keys",
        ]))
        .status
        .success()
    }
}

fn set_up(database_url: Option<String>) -> Node {
    let office = Office::new(DEVICE, OLD_PIN, database_url);
    let giver = office.personal("giao", "Lê Văn Giao");
    let receiver = office.personal("nhan", "Phạm Thị Nhận");
    office.add_user("lanhdao", "Nguyễn Văn Hùng", &["leader"], None);
    office.add_user(GIVER, "Lê Văn Giao", &["custodian", "clerk"], Some(&giver));
    office.add_user(
        RECEIVER,
        "Phạm Thị Nhận",
        &["custodian", "clerk"],
        Some(&receiver),
    );
    office.add_user("chuyenvien", "Lê Văn Chuyên", &["officer"], None);
    office.register_device(DEVICE, OLD_PIN, GIVER);
    Node {
        office,
        giver,
        receiver,
    }
}

/// Every answer the test got, to check that no PIN is ever echoed.
#[derive(Default)]
struct Seen(std::cell::RefCell<Vec<String>>);

impl Seen {
    fn keep(&self, a: Answer) -> Answer {
        self.0.borrow_mut().push(a.text.clone());
        a
    }
}

fn handover(c: &Client, id: i64) -> Value {
    let list = c.get("/api/v1/handovers");
    assert_eq!(list.status, 200, "{}", list.text);
    list.json
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no handover {id}: {}", list.text))
}

fn custodian(c: &Client) -> String {
    let devices = c.get("/api/v1/devices");
    devices.json[0]["custodian"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A party signs the minutes two-step with a key only the test holds.
fn sign_minutes(seen: &Seen, party: &Client, id: i64, key: &Personal, who: &str) -> Answer {
    let (ticket, signed) = sign_two_step(
        party,
        &format!("/api/v1/handovers/{id}/minutes"),
        &json!({"certificates": key.chain}),
        &key.key,
    );
    let ticket = seen.keep(ticket);
    assert_eq!(ticket.json["party"], who, "{}", ticket.text);
    assert_eq!(ticket.json["format"], "pades", "{}", ticket.text);
    seen.keep(signed)
}

fn handover_flow(node: &Node) {
    let log = node.office.hsm.data.join("serve.log");
    let served = node.office.serve(Some(&log));
    let url = served.url.as_str();
    let seen = Seen::default();
    let giver = login(url, GIVER);
    let receiver = login(url, RECEIVER);
    let leader = login(url, "lanhdao");
    let officer = login(url, "chuyenvien");
    let devices = giver.get("/api/v1/devices");
    let serial = devices.json[0]["serial"].as_str().unwrap().to_string();

    // 1. The custodian asks to hand the device over; a leader approves.
    let requested = seen.keep(giver.post_json(
        "/api/v1/handovers",
        &json!({
            "device": serial,
            "to": RECEIVER,
            "permission": "Quyết định số 15/QĐ-STTTT ngày 02/12/2026 của Giám đốc Sở",
            "condition": "Thiết bị hoạt động bình thường, còn nguyên niêm phong",
        }),
    ));
    assert_eq!(requested.status, 201, "{}", requested.text);
    let id = requested.json["id"].as_i64().unwrap();
    let approved = seen.keep(leader.post_json(
        &format!("/api/v1/handovers/{id}/decision"),
        &json!({"decision": "approve"}),
    ));
    assert_eq!(approved.status, 200, "{}", approved.text);

    // 2. Acceptance with the device on the server. Only the receiver; a new PIN too
    // short and a wrong giver's PIN are refused and change nothing.
    let acceptance = format!("/api/v1/handovers/{id}/acceptance");
    let body = |old: &str, new: &str| {
        json!({
            "giver_pin": old, "new_pin": new, "issuer": "STTTT",
            "parent_agency": "UBND THÀNH PHỐ CẦN THƠ", "place": "Cần Thơ",
        })
    };
    refused(
        &seen.keep(giver.post_json(&acceptance, &body(OLD_PIN, NEW_PIN))),
        403,
        "not_receiver",
        "the giver accepting",
    );
    // A malformed body is refused without quoting it (a number is not a PIN string).
    let numeric = seen.keep(receiver.post_json(
        &acceptance,
        &json!({"giver_pin": 8_642_097_531_u64, "new_pin": NEW_PIN, "issuer": "STTTT", "place": "Cần Thơ"}),
    ));
    refused(&numeric, 400, "bad_request", "a PIN that is not a string");
    assert!(!numeric.text.contains("8642097531"), "{}", numeric.text);
    refused(
        &seen.keep(receiver.post_json(&acceptance, &body(OLD_PIN, "12"))),
        400,
        "new_pin",
        "a new PIN too short",
    );
    refused(
        &seen.keep(receiver.post_json(&acceptance, &body("Sai-PIN-0000", NEW_PIN))),
        403,
        "old_pin_rejected",
        "a wrong giver's PIN",
    );
    assert_eq!(handover(&giver, id)["state"], "approved");
    assert_eq!(custodian(&giver), GIVER, "custody unchanged by a wrong PIN");
    assert!(
        node.pin_opens_device(OLD_PIN),
        "the PIN unchanged by a refusal"
    );
    let accepted = seen.keep(receiver.post_json(&acceptance, &body(OLD_PIN, NEW_PIN)));
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert_eq!(accepted.json["custodian"], RECEIVER, "{}", accepted.text);
    assert!(
        accepted.json["minutes_notation"]
            .as_str()
            .is_some_and(|n| n.ends_with("/BB-STTTT")),
        "{}",
        accepted.text
    );
    assert_eq!(handover(&giver, id)["state"], "accepted");
    assert_eq!(custodian(&giver), RECEIVER);
    assert!(
        !node.pin_opens_device(OLD_PIN),
        "the giver's PIN still opens the device"
    );
    assert!(
        node.pin_opens_device(NEW_PIN),
        "the new PIN does not open the device"
    );
    // The minutes drawn up, readable by the parties and not by an officer.
    let (status, drawn) = giver.get_bytes(&format!("/api/v1/handovers/{id}/minutes"));
    assert_eq!(status, 200);
    assert!(drawn.starts_with(b"%PDF-"));
    refused(
        &seen.keep(officer.get(&format!("/api/v1/handovers/{id}/minutes"))),
        403,
        "not_party",
        "an officer reading the minutes",
    );

    // 3. Both parties sign two-step with their personal keys. Not an officer, not a
    // signature by another key, not the receiver with the giver's certificate.
    refused(
        &seen.keep(officer.post_json(
            &format!("/api/v1/handovers/{id}/minutes/signing-sessions"),
            &json!({"certificates": node.giver.chain}),
        )),
        403,
        "not_party",
        "an officer signing the minutes",
    );
    refused(
        &seen.keep(receiver.post_json(
            &format!("/api/v1/handovers/{id}/minutes/signing-sessions"),
            &json!({"certificates": node.giver.chain}),
        )),
        403,
        "not_registered_certificate",
        "the receiver with the giver's certificate",
    );
    let ticket = seen.keep(giver.post_json(
        &format!("/api/v1/handovers/{id}/minutes/signing-sessions"),
        &json!({"certificates": node.giver.chain}),
    ));
    assert_eq!(ticket.status, 201, "{}", ticket.text);
    refused(
        &seen.keep(giver.post_json(
            &format!("/api/v1/handovers/{id}/minutes/signature"),
            &signature(&ticket, &node.receiver.key),
        )),
        400,
        "signature_mismatch",
        "a signature by another key",
    );
    let signed = sign_minutes(&seen, &giver, id, &node.giver, "giver");
    assert_eq!(signed.status, 200, "{}", signed.text);
    assert_eq!(
        signed.json["minutes_signatures"],
        json!(["giver"]),
        "{}",
        signed.text
    );
    // The seal waits for both parties.
    refused(
        &seen.keep(receiver.post_json(
            &format!("/api/v1/handovers/{id}/minutes/seal"),
            &json!({"pin": NEW_PIN}),
        )),
        403,
        "minutes_unsigned",
        "a seal before the receiver signed",
    );
    let signed = sign_minutes(&seen, &receiver, id, &node.receiver, "receiver");
    assert_eq!(signed.status, 200, "{}", signed.text);

    // 4. The receiver seals with the device on the server: not the giver, not with the
    // giver's (now dead) PIN.
    let seal = format!("/api/v1/handovers/{id}/minutes/seal");
    refused(
        &seen.keep(giver.post_json(&seal, &json!({"pin": OLD_PIN}))),
        403,
        "not_party",
        "the giver sealing",
    );
    refused(
        &seen.keep(receiver.post_json(&seal, &json!({"pin": OLD_PIN}))),
        403,
        "device_login_failed",
        "the seal with the giver's PIN",
    );
    assert_eq!(handover(&giver, id)["state"], "accepted");
    let sealed = seen.keep(receiver.post_json(&seal, &json!({"pin": NEW_PIN})));
    assert_eq!(sealed.status, 200, "{}", sealed.text);
    assert_eq!(sealed.json["archived"], true, "{}", sealed.text);
    assert_eq!(
        sealed.json["handover"]["state"], "completed",
        "{}",
        sealed.text
    );

    // 5. The final minutes: three signatures (giver, receiver, the agency's seal),
    // valid in kyso and listed by pdfsig; byte-exact the archived original.
    let (file, minutes) = node.office.signed_pdf(
        &giver,
        &format!("/api/v1/handovers/{id}/minutes"),
        &drawn,
        3,
        &format!("bien-ban-{id}.pdf"),
    );
    let pdfsig = run(Command::new("pdfsig").arg(&file));
    let listing = String::from_utf8_lossy(&pdfsig.stdout).to_string();
    for n in 1..=3 {
        assert!(
            listing.contains(&format!("Signature #{n}")),
            "pdfsig: {listing}"
        );
    }
    assert!(!listing.contains("Signature #4"), "pdfsig: {listing}");
    for name in ["Lê Văn Giao", "Phạm Thị Nhận"] {
        assert!(listing.contains(name), "pdfsig names no {name}: {listing}");
    }
    let by_admin = login(url, "admin");
    let (status, again) = by_admin.get_bytes(&format!("/api/v1/handovers/{id}/minutes"));
    assert_eq!((status, again == minutes), (200, true));

    // 6. No PIN in any answer, nor in the server's log.
    drop(served);
    for text in seen.0.borrow().iter() {
        for pin in [OLD_PIN, NEW_PIN] {
            assert!(!text.contains(pin), "a PIN echoed in an answer: {text}");
        }
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("handovers/{id}/acceptance"),
        "the log was not captured: {logged}"
    );
    for pin in [OLD_PIN, NEW_PIN] {
        assert!(!logged.contains(pin), "a PIN in the server's log");
    }
}

#[test]
fn handover_over_http_with_the_device_on_softhsm() {
    on_both_backends(|database_url| handover_flow(&set_up(database_url)));
}
