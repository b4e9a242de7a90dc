//! The staff's web interface end to end, in Debian's Chromium driven by playwright-core
//! (`tests/browser/ui-flow.mjs`), against a real `kyso serve` with the agency device on
//! SoftHSM2 and a real `kyso agent` on the leader's "PC" holding the leader's token:
//!
//! 1. the officer (chuyên viên) uploads a draft in the browser;
//! 2. the leader (lãnh đạo) opens it from "việc của tôi" and signs it: the page asks
//!    kyso agent for the certificate, the server prepares the signature, the agent signs
//!    the digest on the token (the PIN typed on the agent's side), the server assembles;
//! 3. the clerk (văn thư, custodian of the agency device) numbers it, seals it with the
//!    device on the server (PIN for that request), issues it and sends it to a second
//!    agency hosted on the same node; the recipient's status timeline shows 01;
//! 4. that agency's clerk sees the document waiting, reads the signature panel (HỢP LỆ,
//!    the PDF drawn with both signatures' rectangles), accepts it (số đến), finds it by
//!    an accent-less search; the sender then sees status 03;
//! 5. the custodian (người quản lý thiết bị) and the administrator (quản trị) open their
//!    pages; wrong roles get 403 on the direct URLs and do not see them in the menu;
//! 6. the public verification page shows a tampered copy as KHÔNG HỢP LỆ with the reason.
//!
//! axe-core runs on every page; no serious or critical violation is allowed. The issued
//! PDF is checked by pyHanko too. Screenshots go to `$KYSO_SCREENSHOTS` when it is set
//! (`docs/screenshots`, referenced from the README), else to the test's directory.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::agent::{AgentProcess, Say, home_with_local_root, run_browser};
use crate::office::{AGENCY, Office, login};
use crate::support::{success, workspace};
use crate::token::{PIN, assert_pyhanko_valid};

const DEVICE: &str = "thiet-bi-so-tttt";
/// The signer named on testdata/documents/cong-van.pdf.
const LEADER: &str = "Nguyễn Văn Hùng";
/// The second agency, hosted on the same node.
const OTHER: &str = "000.00.13.H13";
const OTHER_NAME: &str = "Sở Nội vụ thành phố Cần Thơ";
/// The first agency's name (the office fixture's).
const AGENCY_NAME: &str = "Sở Thông tin và Truyền thông";
const SUBJECT: &str = "Về việc triển khai ký số văn bản điện tử";
/// The device's PIN after the handover (the receiver's).
const NEW_PIN: &str = "975312";

fn screenshot_dir(work: &Path) -> PathBuf {
    let dir = std::env::var_os("KYSO_SCREENSHOTS")
        .map(|d| {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace().join(d)
            }
        })
        .unwrap_or_else(|| work.join("screenshots"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `steps` in one browser (tests/browser/ui-flow.mjs); the results by name.
fn browse(home: &Path, base: &str, steps: &[Value]) -> Value {
    let plan = home.join(format!("plan-{}.json", steps.len()));
    std::fs::write(&plan, json!({"base": base, "steps": steps}).to_string()).unwrap();
    run_browser(
        home,
        "ui-flow.mjs",
        &["--plan".to_string(), plan.display().to_string()],
    )
}

/// No serious or critical axe-core violation on any page checked.
fn assert_accessible(result: &Value) {
    let mut bad = Vec::new();
    for (page, violations) in result["axe"].as_object().unwrap() {
        for v in violations.as_array().unwrap() {
            if matches!(v["impact"].as_str(), Some("serious" | "critical")) {
                bad.push(format!("{page}: {v}"));
            }
        }
    }
    assert!(bad.is_empty(), "axe-core violations:\n{}", bad.join("\n"));
}

fn login_step(user: &str) -> Value {
    json!({"do": "login", "user": user, "password": format!("{user}-mat-khau")})
}

fn open(subject: &str) -> Value {
    json!({"do": "click", "selector": format!("main a:has-text(\"{subject}\")"), "navigate": true})
}

fn click(selector: &str) -> Value {
    json!({"do": "click", "selector": selector, "navigate": true})
}

fn wait_text(selector: &str, text: &str) -> Value {
    json!({"do": "wait_text", "selector": selector, "text": text, "timeout_ms": 90_000})
}

fn text(selector: &str, name: &str) -> Value {
    json!({"do": "text", "selector": selector, "name": name})
}

fn goto(path: &str, name: &str) -> Value {
    json!({"do": "goto", "path": path, "name": name})
}

fn axe(name: &str) -> Value {
    json!({"do": "axe", "name": name})
}

fn shot(dir: &Path, name: &str) -> Vec<Value> {
    vec![
        json!({"do": "screenshot", "path": dir.join(format!("{name}.png"))}),
        json!({"do": "screenshot", "path": dir.join(format!("{name}-dien-thoai.png")), "width": 390}),
    ]
}

fn s(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap_or_default().to_string()
}

#[test]
fn web_interface_end_to_end() {
    let office = Office::new(DEVICE, PIN, None);
    let hsm = &office.hsm;
    // The leader's own token, on the leader's PC.
    hsm.init_token("lanh-dao-pc", PIN);
    let chain = hsm.token_key(
        "lanh-dao-pc",
        PIN,
        "07",
        "lanh-dao",
        "rsa:2048",
        "person",
        LEADER,
    );
    let mut add = office.as_user("admin", &["user", "add", "lanhdao", "--full-name", LEADER]);
    add.env("KYSO_NEW_PASSWORD", "lanhdao-mat-khau")
        .args(["--password", "--role", "leader", "--certificate"])
        .arg(&chain)
        .arg("--signature-image")
        .arg(workspace().join("testdata/images/signature-blue.png"));
    success(&mut add);
    office.add_user("vanthu", "Trần Thị Văn", &["clerk", "custodian"], None);
    office.add_user("chuyenvien", "Lê Văn Chuyên", &["officer"], None);
    office.add_user("thietbi", "Phạm Thị Hoa", &["custodian"], None);
    office.register_device(DEVICE, PIN, "vanthu");
    // The second agency's clerk (the operator of the data directory adds it).
    let mut other = hsm.kyso();
    other
        .env("KYSO_AGENCY_ID", OTHER)
        .env("KYSO_AGENCY_NAME", OTHER_NAME)
        .env("KYSO_NEW_PASSWORD", "vanthusnv-mat-khau")
        .env_remove("KYSO_DATABASE_URL")
        .args([
            "user",
            "add",
            "vanthusnv",
            "--full-name",
            "Đặng Thị Mai",
            "--role",
            "clerk",
            // The agency's first user administers it too.
            "--role",
            "administrator",
            "--password",
        ]);
    success(&mut other);

    let agent_port = kyso_testkit::mtls::free_port();
    let served = office.serve_with(None, &["--agent-port", &agent_port.to_string()]);
    let base = served.url.trim_end_matches('/').to_string();
    let admin = login(&base, "admin");
    for (id, name) in [(AGENCY, AGENCY_NAME), (OTHER, OTHER_NAME)] {
        let added = admin.post_json("/api/v1/agencies", &json!({"id": id, "name": name}));
        assert_eq!(added.status, 201, "{}", added.text);
    }

    // The leader's PC: kyso agent with the token, trusting pages of the node.
    let (home, tls) = home_with_local_root(hsm, "leader-pc");
    let agent = AgentProcess::start_on(
        hsm,
        &home,
        &base,
        agent_port,
        &[
            "--token-label",
            "lanh-dao-pc",
            "--tls-dir",
            &tls.display().to_string(),
        ],
    );
    agent.will(&[Say::Sign(PIN)]);
    let shots = screenshot_dir(&hsm.work);
    let pdf = kyso_testkit::document("cong-van.pdf");

    let mut steps = vec![
        // 1. The officer uploads the draft.
        login_step("chuyenvien"),
        axe("viec-cua-toi (chuyên viên)"),
        text("header nav", "officer_nav"),
        goto("/van-ban-di", "outgoing_status"),
        axe("van-ban-di"),
        json!({"do": "files", "selector": "#du-thao-tep", "path": pdf}),
        json!({"do": "fill", "selector": "#du-thao-trich-yeu", "value": SUBJECT}),
        click("#tai-du-thao button[type=submit]"),
        wait_text("#trang-thai", "Dự thảo"),
        json!({"do": "url", "name": "draft_url"}),
        goto("/quan-tri", "officer_admin"),
        goto("/nhat-ky", "officer_audit"),
        json!({"do": "logout"}),
        // 2. The leader signs through kyso agent.
        login_step("lanhdao"),
        text("main", "leader_dashboard"),
        axe("viec-cua-toi (lãnh đạo)"),
        open(SUBJECT),
        json!({"do": "wait", "selector": "#trang-van-ban[data-pages]"}),
        axe("van-ban (dự thảo)"),
        click("#nut-ky-so"),
        wait_text("#trang-thai", "Lãnh đạo đã ký"),
        json!({"do": "logout"}),
        // 3. The clerk numbers, seals, issues and sends.
        login_step("vanthu"),
        text("main", "clerk_dashboard"),
        open(SUBJECT),
        json!({"do": "fill", "selector": "#ky-hieu-co-quan", "value": "STTTT"}),
        json!({"do": "fill", "selector": "#don-vi-soan-thao", "value": "VP"}),
        click("#cap-so button"),
        wait_text("#trang-thai", "Đã cấp số"),
        json!({"do": "fill", "selector": "#ma-pin", "value": PIN}),
        click("#ky-co-quan button"),
        wait_text("#trang-thai", "Đã ký số của cơ quan"),
        click("#phat-hanh button"),
        wait_text("#trang-thai", "Đã phát hành"),
        json!({"do": "check", "selector": format!("#gui-van-ban input[value=\"{OTHER}\"]")}),
        click("#gui-van-ban button"),
        json!({"do": "wait", "selector": ".delivery"}),
        text("#tinh-trang-noi-nhan", "sent_timeline"),
        json!({"do": "wait", "selector": "#trang-van-ban[data-pages]"}),
        text("#ket-luan", "issued_verdict"),
        json!({"do": "count", "selector": ".vung-chu-ky", "name": "issued_boxes"}),
        text("h1", "issued_title"),
        axe("van-ban (đã phát hành)"),
        json!({"do": "url", "name": "issued_url"}),
    ];
    steps.extend(shot(&shots, "van-ban-di-da-phat-hanh"));
    steps.extend([
        goto("/so-van-ban", "registers_status"),
        axe("so-van-ban"),
        text("main table", "register_table"),
        goto("/luu-tru", "archive_status"),
        axe("luu-tru"),
        text("main", "archive_text"),
        goto("/thiet-bi", "clerk_devices"),
        axe("thiet-bi (văn thư)"),
        goto("/nhat-ky", "clerk_audit"),
        text("#loi", "clerk_audit_text"),
        axe("403"),
        goto("/quan-tri", "clerk_admin"),
        json!({"do": "logout"}),
        // 4. The receiving agency's clerk.
        login_step("vanthusnv"),
        text("main", "receiver_dashboard"),
        axe("viec-cua-toi (văn thư nơi nhận)"),
    ]);
    steps.extend(shot(&shots, "viec-cua-toi"));
    steps.extend([
        open(SUBJECT),
        json!({"do": "wait", "selector": "#trang-van-ban[data-pages]"}),
        text("#ket-luan", "received_verdict"),
        text("#bang-chu-ky-so", "received_panel"),
        json!({"do": "count", "selector": ".vung-chu-ky", "name": "received_boxes"}),
        axe("van-ban (văn bản đến)"),
    ]);
    steps.extend(shot(&shots, "van-ban-den"));
    steps.extend([
        json!({"do": "fill", "selector": "#ghi-chu-tiep-nhan", "value": "Đã kiểm tra chữ ký số"}),
        click("#tiep-nhan button"),
        wait_text("#trang-thai", "Đã tiếp nhận"),
        text("#thong-tin-van-ban", "received_info"),
        goto(
            "/tim-kiem?q=trien+khai+ky+so+van+ban+dien+tu",
            "search_status",
        ),
        text("main", "search_text"),
        axe("tim-kiem"),
    ]);
    steps.extend(shot(&shots, "tim-kiem"));
    steps.extend([
        goto("/van-ban-den", "incoming_status"),
        axe("van-ban-den"),
        json!({"do": "logout"}),
        // The sender sees the recipient's answer.
        login_step("vanthu"),
        goto("/van-ban-di", "outgoing_again"),
        open(SUBJECT),
        text("#tinh-trang-noi-nhan", "timeline_after_accept"),
        // The sender asks for it back (13).
        json!({"do": "fill", "selector": "form[data-api$=\"/recall\"] input[name=reason]",
               "value": "Văn bản có sai sót, sẽ ban hành lại"}),
        click("form[data-api$=\"/recall\"] button"),
        wait_text("#tinh-trang-noi-nhan", "đã yêu cầu thu hồi"),
        // 5. The device changes hands: the clerk (its custodian) asks to hand it to
        //    the custodian-to-be, a leader approves, the receiver accepts with the
        //    giver's PIN and a new one (device on the server); the minutes then wait
        //    for both parties' signatures.
        goto("/thiet-bi", "clerk_devices_again"),
        json!({"do": "select", "selector": "#bg-nguoi-nhan", "label": "Phạm Thị Hoa (thietbi)"}),
        json!({"do": "fill", "selector": "#bg-can-cu", "value": "Giấy ủy quyền số 12/GUQ-STTTT"}),
        json!({"do": "fill", "selector": "#bg-tinh-trang", "value": "Hoạt động bình thường"}),
        click("#de-nghi-ban-giao button"),
        wait_text("#ban-giao-1", "đã đề nghị"),
        json!({"do": "logout"}),
        login_step("lanhdao"),
        text("main", "leader_dashboard_handover"),
        goto("/thiet-bi", "leader_devices"),
        click("#ban-giao-1 form button:has-text(\"Phê duyệt\")"),
        wait_text("#ban-giao-1", "đã được phê duyệt"),
        json!({"do": "logout"}),
        // The receiving clerk agrees to the recall (15): the copy is withdrawn.
        login_step("vanthusnv"),
        goto("/van-ban-den", "incoming_again"),
        open(SUBJECT),
        json!({"do": "wait", "selector": "#dong-y-thu-hoi"}),
        text("#tinh-trang-noi-nhan", "recall_at_receiver"),
        axe("van-ban (yêu cầu thu hồi)"),
        click("#dong-y-thu-hoi button"),
        wait_text("#trang-thai", "Đã hủy theo yêu cầu thu hồi"),
        json!({"do": "logout"}),
        // The custodian-to-be, and the administrator.
        login_step("thietbi"),
        text("header nav", "custodian_nav"),
        goto("/thiet-bi", "custodian_devices"),
        json!({"do": "fill", "selector": "#pin-cu-1", "value": PIN}),
        json!({"do": "fill", "selector": "#pin-moi-1", "value": NEW_PIN}),
        json!({"do": "fill", "selector": "#ky-hieu-1", "value": "STTTT"}),
        json!({"do": "fill", "selector": "#dia-danh-1", "value": "Cần Thơ"}),
        click("#ban-giao-1 button:has-text(\"Nhận bàn giao\")"),
        wait_text("#ban-giao-1", "đã nhận bàn giao"),
        text("main", "devices_text"),
        json!({"do": "count", "selector": ".ky-qua-agent", "name": "minutes_to_sign"}),
        axe("thiet-bi"),
    ]);
    steps.extend(shot(&shots, "thiet-bi"));
    steps.extend([
        goto("/quan-tri", "custodian_admin"),
        json!({"do": "logout"}),
        login_step("admin"),
        text("header nav", "admin_nav"),
        goto("/nhat-ky", "admin_audit"),
        text("#nhat-ky-nguyen-ven", "audit_state"),
        axe("nhat-ky"),
    ]);
    steps.extend(shot(&shots, "nhat-ky"));
    steps.extend([
        goto("/quan-tri", "admin_page"),
        text("main", "admin_text"),
        axe("quan-tri"),
        // The policy: Quyết định issued electronically too.
        json!({"do": "check", "selector": "#doi-chinh-sach input[value=\"QĐ\"]"}),
        click("#doi-chinh-sach button"),
        text("section[aria-labelledby=chinh-sach] ul", "policy_after"),
    ]);
    steps.extend(shot(&shots, "quan-tri"));
    steps.extend([
        // The sender's timeline shows the recall agreed (15).
        goto("/van-ban-di", "admin_outgoing"),
        open(SUBJECT),
        text("#tinh-trang-noi-nhan", "timeline_after_recall"),
        json!({"do": "logout"}),
        goto("/dang-nhap", "login_status"),
        axe("dang-nhap"),
    ]);
    steps.extend(shot(&shots, "dang-nhap"));
    let r = browse(&home, &base, &steps);
    assert_accessible(&r);
    // Readable at phone width: nothing wider than the screen.
    for (page, width) in r["widths"].as_object().unwrap() {
        assert!(
            width.as_u64().unwrap() <= 390,
            "{page} is {width} px wide at 390 px"
        );
    }
    let no_pin = agent.output();
    assert!(!no_pin.contains(PIN), "the agent never prints the PIN");

    // 1. Draft, and the officer's menu and refusals.
    assert!(s(&r, "draft_url").starts_with("/van-ban/"), "{r}");
    let officer_nav = s(&r, "officer_nav");
    assert!(
        officer_nav.contains("Văn bản đi")
            && !officer_nav.contains("Quản trị")
            && !officer_nav.contains("Nhật ký"),
        "{officer_nav}"
    );
    assert_eq!(
        (r["officer_admin"].as_u64(), r["officer_audit"].as_u64()),
        (Some(403), Some(403)),
        "{r}"
    );
    // 2. The leader saw the draft waiting.
    let dashboard = s(&r, "leader_dashboard");
    assert!(
        dashboard.contains("Dự thảo chờ lãnh đạo ký số") && dashboard.contains(SUBJECT),
        "{dashboard}"
    );
    // 3. Issued with both signatures, sent, status 01.
    assert!(
        s(&r, "clerk_dashboard").contains("Văn bản đi chờ cấp số"),
        "{r}"
    );
    assert_eq!(
        s(&r, "issued_verdict").lines().next(),
        Some("HỢP LỆ"),
        "{r}"
    );
    assert_eq!(
        r["issued_boxes"], 2,
        "both signatures outlined on the page: {r}"
    );
    assert!(s(&r, "issued_title").contains("01/"), "numbered: {r}");
    let sent = s(&r, "sent_timeline");
    assert!(sent.contains(OTHER_NAME) && sent.contains("01"), "{sent}");
    assert!(s(&r, "register_table").contains(SUBJECT), "{r}");
    assert!(s(&r, "archive_text").contains(SUBJECT), "{r}");
    assert_eq!(
        (r["clerk_audit"].as_u64(), r["clerk_admin"].as_u64()),
        (Some(403), Some(403)),
        "{r}"
    );
    assert!(s(&r, "clerk_audit_text").contains("quản trị"), "{r}");
    // 4. Received, verified, accepted, found without accents; 03 back to the sender.
    assert!(
        s(&r, "receiver_dashboard").contains("Văn bản đến chờ tiếp nhận"),
        "{r}"
    );
    assert_eq!(
        s(&r, "received_verdict").lines().next(),
        Some("HỢP LỆ"),
        "{r}"
    );
    let panel = s(&r, "received_panel");
    assert!(
        panel.contains(LEADER) && panel.contains("+07:00"),
        "{panel}"
    );
    assert_eq!(r["received_boxes"], 2, "{r}");
    assert!(s(&r, "received_info").contains("Số đến"), "{r}");
    let found = s(&r, "search_text");
    assert!(
        found.contains("Tìm thấy 1 văn bản") && found.contains("triển khai"),
        "{found}"
    );
    let timeline = s(&r, "timeline_after_accept");
    assert!(timeline.contains("03"), "{timeline}");
    // Recall: asked (13), seen by the receiver, agreed (15), seen by the sender.
    let asked = s(&r, "recall_at_receiver");
    assert!(
        asked.contains("nơi gửi yêu cầu thu hồi") && asked.contains("13"),
        "{asked}"
    );
    let recalled = s(&r, "timeline_after_recall");
    assert!(
        recalled.contains("15") && recalled.contains("đã đồng ý thu hồi"),
        "{recalled}"
    );
    // 5. Custodian and administrator.
    // The handover: requested, shown to the leader, approved, accepted; the device's
    // custodian is now the receiver, whose page offers to sign the minutes.
    assert!(
        s(&r, "leader_dashboard_handover").contains("Bàn giao thiết bị ký số cần xử lý"),
        "{r}"
    );
    let devices = s(&r, "devices_text");
    assert!(
        devices.contains("Phạm Thị Hoa (thietbi) (bạn)") && devices.contains("đã nhận bàn giao"),
        "{devices}"
    );
    assert_eq!(r["minutes_to_sign"], 1, "{r}");
    assert!(!s(&r, "custodian_nav").contains("Quản trị"), "{r}");
    assert_eq!(r["custodian_admin"].as_u64(), Some(403), "{r}");
    assert!(
        s(&r, "admin_nav").contains("Quản trị") && s(&r, "admin_nav").contains("Nhật ký"),
        "{r}"
    );
    assert_eq!(
        (r["admin_audit"].as_u64(), r["admin_page"].as_u64()),
        (Some(200), Some(200)),
        "{r}"
    );
    assert!(s(&r, "audit_state").starts_with("NGUYÊN VẸN"), "{r}");
    assert!(s(&r, "policy_after").contains("Quyết định"), "{r}");
    assert!(
        s(&r, "admin_text").contains(OTHER_NAME) && s(&r, "admin_text").contains(LEADER),
        "{r}"
    );

    // The issued PDF, checked by pyHanko; then a tampered copy on the public page.
    let id: i64 = s(&r, "issued_url")
        .trim_start_matches("/van-ban/")
        .parse()
        .unwrap();
    let clerk = login(&base, "vanthu");
    let (status, issued) = clerk.get_bytes(&format!("/api/v1/documents/{id}/original"));
    assert_eq!(status, 200);
    let issued_path = hsm.work.join("issued.pdf");
    std::fs::write(&issued_path, &issued).unwrap();
    assert_pyhanko_valid(&issued_path, &hsm.root, 2);
    // One byte of the signed part changed: the binary comment on the second line (the
    // file still parses; every signature's digest no longer matches).
    let mut tampered = issued.clone();
    let at = tampered
        .windows(2)
        .position(|w| w == b"\n%")
        .expect("the header's binary comment line")
        + 2;
    tampered[at] ^= 0x01;
    let tampered_path = hsm.work.join("ban-sao-bi-sua.pdf");
    std::fs::write(&tampered_path, &tampered).unwrap();
    let r = browse(
        &home,
        &base,
        &[
            goto("/xac-minh", "verify_status"),
            json!({"do": "files", "selector": "#file", "path": tampered_path}),
            json!({"do": "click", "selector": "#bieu-mau button"}),
            json!({"do": "wait", "selector": "#ket-luan", "timeout_ms": 90_000}),
            text("#ket-luan", "verdict"),
            text("#ket-qua-kiem-tra", "report"),
            axe("xac-minh (bản bị sửa)"),
        ],
    );
    assert_accessible(&r);
    assert_eq!(s(&r, "verdict").lines().next(), Some("KHÔNG HỢP LỆ"), "{r}");
    assert!(
        s(&r, "report").contains("Lý do"),
        "the reason is given: {r}"
    );
}
