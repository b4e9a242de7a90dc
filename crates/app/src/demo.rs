//! `kyso serve --demo`: a demo city on one machine, built from the other use cases.
//!
//! [`create_ca`] makes the city CA in `<data>/ca` (its services' URL is given: the
//! front end serves CRL/OCSP/TSA there, on loopback), makes its root a trust anchor of
//! the data directory (`<data>/trust`), and certifies a leader's key and an agency seal
//! key for each of three agencies (software keys in `<data>/keys`). [`App::seed_demo`]
//! then, through the ordinary use cases: the directory of the three agencies (all hosted
//! here), their users — one per role, random passwords returned once —, each agency's
//! device (a **software key standing in for a token**, said so in its label and model),
//! and documents signed by a leader (time-stamped), sealed, issued and sent between the
//! agencies, received (verified on receipt), accepted, assigned or refused.
//!
//! The data directory must be fresh ([`check_fresh`]): a demo never mixes with an
//! installation's data.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kyso_model::{AgencyId, DocumentType};
use kyso_office::{Device, Event, Role};
use kyso_pki::ca::{Profile, SubjectName};
use kyso_signer::KeyKind;
use kyso_signer::keystore::ScryptCost;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::actor::Actor;
use crate::ca::{Ca, CertifiedKey, EndEntity, InitRequest};
use crate::custody::{DeviceRegistration, NewUser};
use crate::documents::{Allocate, DocFields, FileRequest, Filed, StepRequest};
use crate::error::{AppError, AppResult, Kind};
use crate::exchange::NewAgency;
use crate::signing::{DetachedRequest, Keystore, sign_detached};
use crate::{App, Fetcher, VIETNAM};

/// The demo CA's name.
pub const CA_NAME: &str = "Trung tâm Chứng thực số thành phố Cần Thơ (thử nghiệm)";

/// What the demo is built with.
#[derive(Debug, Clone)]
pub struct DemoSetup {
    /// Where the demo CA's services answer (`http://127.0.0.1:PORT`): written into its
    /// certificates (CRL distribution points, OCSP, CA issuers) and used as the TSA.
    pub base_url: String,
    /// The passphrase of the CA's keys and of the demo keys in `<data>/keys`.
    pub passphrase: Zeroizing<String>,
    /// scrypt cost of those keys.
    pub cost: ScryptCost,
}

/// A login of the demo.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    /// Login name (unique on the node: no agency needed to sign in).
    pub name: String,
    /// Full name.
    pub full_name: String,
    /// The role.
    pub role: Role,
    /// The random password, shown once.
    pub password: Zeroizing<String>,
}

/// An agency of the demo.
#[derive(Debug, Clone)]
pub struct DemoAgency {
    /// Mã định danh.
    pub id: AgencyId,
    /// Name.
    pub name: String,
    /// One login per role: leader, clerk, officer, custodian, administrator.
    pub logins: Vec<DemoLogin>,
    /// Its device: a software key standing in for a token.
    pub device: Device,
    /// The keystore entries (in `<data>/keys`) of its leader's key and of its device key.
    pub keys: [String; 2],
}

/// A document sent in the demo.
#[derive(Debug, Clone)]
pub struct DemoDocument {
    /// The sending agency.
    pub sender: AgencyId,
    /// The sender's document id.
    pub id: i64,
    /// `01/UBND-VP`.
    pub notation: String,
    /// Subject.
    pub subject: String,
    /// Each recipient and what it did (`accepted`, `assigned`, `refused`, `received`).
    pub recipients: Vec<(AgencyId, &'static str)>,
}

/// The seeded city.
#[derive(Debug, Clone)]
pub struct DemoCity {
    /// The three agencies.
    pub agencies: Vec<DemoAgency>,
    /// The documents sent between them.
    pub documents: Vec<DemoDocument>,
    /// The CA's root certificate (PEM), also in `<data>/trust`.
    pub root_certificate: PathBuf,
}

struct AgencySpec {
    id: &'static str,
    name: &'static str,
    /// User names end with it (`vanthu.ubnd`); keystore entries start with it.
    short: &'static str,
    /// Tax code (the seal certificate's UID).
    tax: &'static str,
    /// (full name, title) per role: leader, clerk, officer, custodian, administrator.
    people: [(&'static str, &'static str); 5],
}

const AGENCIES: [AgencySpec; 3] = [
    AgencySpec {
        id: "000.00.00.H13",
        name: "Ủy ban nhân dân thành phố Cần Thơ",
        short: "ubnd",
        tax: "MST:1800000001",
        people: [
            ("Trần Văn Bình", "Chủ tịch"),
            ("Nguyễn Thị Lan", "Văn thư"),
            ("Lê Minh Tuấn", "Chuyên viên Văn phòng"),
            ("Phạm Thị Hoa", "Chánh Văn phòng"),
            ("Võ Quốc Huy", "Quản trị hệ thống"),
        ],
    },
    AgencySpec {
        id: "000.00.01.H13",
        name: "Sở Nội vụ thành phố Cần Thơ",
        short: "snv",
        tax: "MST:1800000002",
        people: [
            ("Huỳnh Thanh Sơn", "Giám đốc"),
            ("Đặng Thị Mai", "Văn thư"),
            ("Bùi Văn Khoa", "Chuyên viên Phòng Công chức"),
            ("Trương Thị Thu", "Chánh Văn phòng"),
            ("Ngô Đức Thắng", "Quản trị hệ thống"),
        ],
    },
    AgencySpec {
        id: "000.00.02.H13",
        name: "Sở Tài chính thành phố Cần Thơ",
        short: "stc",
        tax: "MST:1800000003",
        people: [
            ("Lý Thị Ngọc", "Giám đốc"),
            ("Phan Văn Long", "Văn thư"),
            ("Đỗ Thị Hạnh", "Chuyên viên Phòng Ngân sách"),
            ("Cao Minh Trí", "Chánh Văn phòng"),
            ("Hồ Thị Kim", "Quản trị hệ thống"),
        ],
    },
];

/// The five roles, in the order of [`AgencySpec::people`], with the login name's prefix.
const ROLES: [(Role, &str); 5] = [
    (Role::Leader, "lanhdao"),
    (Role::Clerk, "vanthu"),
    (Role::Officer, "chuyenvien"),
    (Role::Custodian, "thietbi"),
    (Role::Administrator, "quantri"),
];

fn leader_key(spec: &AgencySpec) -> String {
    format!("{}-lanh-dao", spec.short)
}

fn seal_key(spec: &AgencySpec) -> String {
    format!("{}-con-dau", spec.short)
}

fn agency_id(spec: &AgencySpec) -> AppResult<AgencyId> {
    AgencyId::parse(spec.id).map_err(AppError::internal)
}

fn io(what: &Path, e: std::io::Error) -> AppError {
    AppError::new(
        Kind::Unavailable,
        "cannot_write",
        format!("không ghi được {}: {e}", what.display()),
        format!("cannot write {}: {e}", what.display()),
    )
}

/// Refuses a data directory that already holds anything (an installation, another
/// demo): the demo's data never mixes with other data.
pub fn check_fresh(data: &Path) -> AppResult<()> {
    let used = match fs::read_dir(data) {
        Ok(mut entries) => entries.next().is_some(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            return Err(AppError::new(
                Kind::Unavailable,
                "cannot_read",
                format!("không đọc được {}: {e}", data.display()),
                format!("cannot read {}: {e}", data.display()),
            ));
        }
    };
    if used {
        return Err(AppError::new(
            Kind::Conflict,
            "demo_data_not_empty",
            format!(
                "{} đã có dữ liệu (một cài đặt hoặc bản trình diễn khác): bản trình diễn cần một thư mục dữ liệu mới, trống",
                data.display()
            ),
            format!(
                "{} already holds data (an installation or another demo): the demo needs a new, empty data directory",
                data.display()
            ),
        ));
    }
    Ok(())
}

/// A random password: 16 characters of an unambiguous alphabet (no `i`, `l`, `o`, `0`,
/// `1`), in groups of four (about 79 bits).
pub fn random_password() -> Zeroizing<String> {
    const ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let bytes: Zeroizing<[u8; 16]> = Zeroizing::new(rand::random());
    let mut out = Zeroizing::new(String::with_capacity(19));
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(b % 31)]));
    }
    out
}

/// The demo CA in `<data>/ca` with its services at `setup.base_url`, its root a trust
/// anchor of the data directory, and each agency's leader and seal keys certified into
/// `<data>/keys`. Returns the root certificate's path in `<data>/trust`.
pub fn create_ca(data: &Path, setup: &DemoSetup, now: OffsetDateTime) -> AppResult<PathBuf> {
    let ca_dir = Ca::dir_from(None, data);
    crate::ca::init(
        &ca_dir,
        &InitRequest {
            name: CA_NAME,
            base_url: Some(&setup.base_url),
            key_kind: KeyKind::P384,
            years: 20,
        },
        &setup.passphrase,
        setup.cost,
        now,
    )?;
    let trust = data.join("trust");
    fs::create_dir_all(&trust).map_err(|e| io(&trust, e))?;
    let root = trust.join("demo-ca-root.crt.pem");
    let pem = fs::read(ca_dir.join("root.crt.pem")).map_err(|e| io(&ca_dir, e))?;
    kyso_store::write_atomic(&root, &pem, false)?;

    let mut ca = Ca::open(&ca_dir)?;
    let keys = Keystore::new(data);
    let not_before = now.replace_nanosecond(0).unwrap_or(now) - time::Duration::minutes(5);
    for (n, spec) in AGENCIES.iter().enumerate() {
        let (leader, title) = spec.people[0];
        let subjects = [
            (
                leader_key(spec),
                Profile::Person,
                SubjectName {
                    common_name: leader.into(),
                    organization: Some(spec.name.into()),
                    title: Some(title.into()),
                    uid: Some(format!("CCCD:09208000{:04}", 1234 + n)),
                    state: Some("Cần Thơ".into()),
                    country: "VN".into(),
                    ..SubjectName::default()
                },
            ),
            (
                seal_key(spec),
                Profile::Seal,
                SubjectName {
                    common_name: spec.name.into(),
                    organization: Some(spec.name.into()),
                    title: Some("Văn thư".into()),
                    uid: Some(spec.tax.into()),
                    state: Some("Cần Thơ".into()),
                    country: "VN".into(),
                    ..SubjectName::default()
                },
            ),
        ];
        for (name, profile, subject) in subjects {
            ca.issue(
                &setup.passphrase,
                &EndEntity {
                    profile,
                    subject,
                    not_before,
                    days: 3 * 365,
                    dns_names: Vec::new(),
                },
                CertifiedKey::Generate {
                    kind: KeyKind::P256,
                    keystore: &keys,
                    name: &name,
                    passphrase: &setup.passphrase,
                    cost: setup.cost,
                    export_plain: None,
                },
            )?;
        }
    }
    Ok(root)
}

/// One document to send.
struct Story {
    sender: usize,
    doc_type: DocumentType,
    file: &'static str,
    subject: &'static str,
    issuer: &'static str,
    units: &'static [&'static str],
    notation: &'static str,
    body: &'static str,
    /// Recipient index → what its people do.
    recipients: &'static [(usize, Reply)],
}

#[derive(Clone, Copy)]
enum Reply {
    /// The clerk accepts (số đến).
    Accept,
    /// The clerk accepts, the leader assigns it.
    Assign,
    /// The clerk refuses, with a reason.
    Refuse,
    /// Left verified, for the clerk to accept or refuse.
    Leave,
}

const STORIES: [Story; 3] = [
    Story {
        sender: 0,
        doc_type: DocumentType::CongVan,
        file: "cong-van-trien-khai-ky-so.txt",
        subject: "Về việc triển khai ký số và gửi, nhận văn bản điện tử",
        issuer: "UBND",
        units: &["VP"],
        notation: "01/UBND-VP",
        body: "Kính gửi: Sở Nội vụ; Sở Tài chính thành phố Cần Thơ.\n\n\
Thực hiện Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác\n\
văn thư, Ủy ban nhân dân thành phố đề nghị các cơ quan, đơn vị ký số và gửi văn bản điện\n\
tử qua mạng, không gửi kèm bản giấy, kể từ ngày 01 tháng 01 năm sau.",
        recipients: &[(1, Reply::Assign), (2, Reply::Refuse)],
    },
    Story {
        sender: 1,
        doc_type: DocumentType::GiayMoi,
        file: "giay-moi-tap-huan-ky-so.txt",
        subject: "Mời dự hội nghị tập huấn ký số văn bản điện tử",
        issuer: "SNV",
        units: &[],
        notation: "01/GM-SNV",
        body: "Kính gửi: Ủy ban nhân dân thành phố Cần Thơ.\n\n\
Sở Nội vụ trân trọng kính mời lãnh đạo và văn thư Văn phòng Ủy ban nhân dân thành phố dự\n\
hội nghị tập huấn ký số và gửi, nhận văn bản điện tử, lúc 08 giờ 00 ngày thứ Hai tuần\n\
sau, tại Hội trường Sở Nội vụ.",
        recipients: &[(0, Reply::Accept)],
    },
    Story {
        sender: 2,
        doc_type: DocumentType::BaoCao,
        file: "bao-cao-du-toan-quy-iv.txt",
        subject: "Tình hình thực hiện dự toán ngân sách quý IV",
        issuer: "STC",
        units: &[],
        notation: "01/BC-STC",
        body: "Kính gửi: Ủy ban nhân dân thành phố; Sở Nội vụ thành phố Cần Thơ.\n\n\
Sở Tài chính báo cáo tình hình thực hiện dự toán ngân sách quý IV: tổng thu đạt 96% dự\n\
toán, tổng chi đạt 91% dự toán; chi tiết tại phụ lục kèm theo.",
        recipients: &[(0, Reply::Accept), (1, Reply::Leave)],
    },
];

/// The reason the Sở Tài chính gives when refusing the city's Công văn.
pub const REFUSAL_REASON: &str =
    "Văn bản gửi nhầm: nội dung đã được Sở Tài chính triển khai theo văn bản trước";

impl App {
    /// Seeds the demo city into this (fresh) installation; the CA made by
    /// [`create_ca`] must be serving at `setup.base_url`.
    pub async fn seed_demo(&self, setup: &DemoSetup) -> AppResult<DemoCity> {
        let data = self.data().to_path_buf();
        let keys = Keystore::new(&data);
        let mut agencies = Vec::new();
        // Per agency: its administrator, clerk and leader as actors.
        let mut actors: Vec<[Actor; 3]> = Vec::new();
        for spec in &AGENCIES {
            let id = agency_id(spec)?;
            let operator = Actor::operator(id.clone());
            let mut logins = Vec::new();
            let mut users = Vec::new();
            // The administrator first: the agency's first user.
            for index in [4, 0, 1, 2, 3] {
                let (role, prefix) = ROLES[index];
                let (full_name, title) = spec.people[index];
                let name = format!("{prefix}.{}", spec.short);
                let password = random_password();
                let certificate = match role {
                    Role::Leader => Some(keys.chain(&leader_key(spec))?.remove(0)),
                    _ => None,
                };
                let by = users
                    .first()
                    .map(|admin: &kyso_office::User| Actor::User(admin.clone()))
                    .unwrap_or_else(|| operator.clone());
                let user = self
                    .add_user(
                        &by,
                        NewUser {
                            name: name.clone(),
                            full_name: full_name.into(),
                            roles: vec![role.key().to_string()],
                            title: title.into(),
                            unit: if role == Role::Leader {
                                "Ban lãnh đạo".into()
                            } else {
                                "Văn phòng".into()
                            },
                            password: Some(password.clone()),
                            certificate,
                            signature_image: None,
                        },
                    )
                    .await?;
                users.push(user);
                logins.push((
                    index,
                    DemoLogin {
                        name,
                        full_name: full_name.into(),
                        role,
                        password,
                    },
                ));
            }
            logins.sort_by_key(|(index, _)| *index);
            let admin = Actor::User(users[0].clone());
            if agencies.is_empty() {
                // The directory: every agency of the city, hosted on this node.
                for other in &AGENCIES {
                    self.add_agency(
                        &admin,
                        NewAgency {
                            id: other.id.into(),
                            name: other.name.into(),
                            node_url: None,
                            node_certificate: None,
                            signing_certificates: Vec::new(),
                        },
                    )
                    .await?;
                }
            }
            // The agency's device: its seal key, a software key standing in for a token.
            let seal = seal_key(spec);
            let certificate = keys.chain(&seal)?.remove(0);
            let device = self
                .register_device(
                    &admin,
                    DeviceRegistration {
                        serial: format!("KHOA-MEM-{}", spec.short.to_uppercase()),
                        label: format!(
                            "Khóa mềm thử nghiệm, không phải token — software key standing in for a token ({})",
                            spec.name
                        ),
                        manufacturer: "kyso demo (khóa mềm / software key)".into(),
                        model: format!(
                            "Khóa mềm thay cho thiết bị ký số: keystore {seal} — a software key standing in for a token, demo only"
                        ),
                        slot: 0,
                        key_id: hex::encode(seal.as_bytes()),
                        certificate,
                        custodian: format!("thietbi.{}", spec.short),
                        seal_image: None,
                    },
                )
                .await?;
            actors.push([
                admin,
                Actor::User(users[2].clone()),
                Actor::User(users[1].clone()),
            ]);
            agencies.push(DemoAgency {
                id,
                name: spec.name.into(),
                logins: logins.into_iter().map(|(_, l)| l).collect(),
                device,
                keys: [leader_key(spec), seal],
            });
        }

        // The documents: signed by the leader (time-stamped), sealed with the device's
        // key, filed as issued with the next number, sent; the recipients act.
        let folder = data.join("demo-documents");
        fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
        let tsa = format!("{}/tsa", setup.base_url.trim_end_matches('/'));
        let mut documents = Vec::new();
        for story in &STORIES {
            let spec = &AGENCIES[story.sender];
            let [_, clerk, _] = &actors[story.sender];
            let file = folder.join(story.file);
            let text = document_text(spec, story, self.now());
            kyso_store::write_atomic(&file, text.as_bytes(), false)?;
            let signature = {
                let fetcher = self.fetcher_arc();
                let keys = Keystore::new(&data);
                let names = (leader_key(spec), seal_key(spec));
                let passphrase = setup.passphrase.clone();
                let file = file.clone();
                let tsa = tsa.clone();
                tokio::task::spawn_blocking(move || {
                    sign_both(fetcher, &keys, &names, &passphrase, &file, &tsa)
                })
                .await
                .map_err(AppError::internal)??
            };
            let (leader, position) = spec.people[0];
            let filed = self
                .file_document(
                    clerk,
                    FileRequest {
                        file: file.clone(),
                        shown_name: Some(story.file.into()),
                        is_pdf: Some(false),
                        signature: Some(signature),
                        doc_type: Some(story.doc_type),
                        number: None,
                        date: None,
                        incoming: false,
                        accept: false,
                        offline: false,
                        accept_invalid: false,
                        fields: DocFields {
                            subject: Some(story.subject.into()),
                            signer: Some(leader.into()),
                            signer_position: Some(position.into()),
                            recipients: story
                                .recipients
                                .iter()
                                .map(|(r, _)| AGENCIES[*r].name.to_string())
                                .collect(),
                            holder: Some("Văn phòng".into()),
                            ..DocFields::default()
                        },
                        from: None,
                        agency_name: spec.name.into(),
                        allocate: Some(Allocate {
                            issuer: story.issuer.into(),
                            units: story.units.iter().map(|u| u.to_string()).collect(),
                            advisory: None,
                        }),
                    },
                )
                .await?;
            let record = match filed {
                Filed::Stored(registered, _) => registered.record,
                Filed::Skipped(reason) => {
                    return Err(AppError::internal(format!(
                        "demo document {} not filed: {}",
                        story.file, reason.en
                    )));
                }
            };
            let id = record
                .id
                .ok_or_else(|| AppError::internal("a filed document without id"))?;
            let recipients: Vec<String> = story
                .recipients
                .iter()
                .map(|(r, _)| AGENCIES[*r].id.to_string())
                .collect();
            let sent = self.send(clerk, id, &recipients).await?;
            let mut done = Vec::new();
            for ((r, reply), outcome) in story.recipients.iter().zip(&sent.recipients) {
                if outcome.outcome != "delivered" || outcome.verdict.as_deref() != Some("valid") {
                    return Err(AppError::internal(format!(
                        "demo document {} to {}: {} ({:?}, {:?})",
                        story.file,
                        outcome.recipient,
                        outcome.outcome,
                        outcome.verdict,
                        outcome.note
                    )));
                }
                let delivery = outcome
                    .delivery
                    .ok_or_else(|| AppError::internal("a delivery without id"))?;
                let received = self
                    .archive()
                    .delivery(delivery)
                    .await?
                    .and_then(|d| d.received_document)
                    .ok_or_else(|| AppError::internal("a delivery without its document"))?;
                let [_, their_clerk, their_leader] = &actors[*r];
                let step = |note: &str| StepRequest {
                    note: note.into(),
                    ..StepRequest::default()
                };
                let what = match reply {
                    Reply::Accept | Reply::Assign => {
                        self.advance(their_clerk, received, Event::Accept, step(""))
                            .await?;
                        if matches!(reply, Reply::Assign) {
                            self.advance(
                                their_leader,
                                received,
                                Event::Assign,
                                step("Giao Phòng Công chức chủ trì triển khai"),
                            )
                            .await?;
                            "assigned"
                        } else {
                            "accepted"
                        }
                    }
                    Reply::Refuse => {
                        self.advance(their_clerk, received, Event::Refuse, step(REFUSAL_REASON))
                            .await?;
                        "refused"
                    }
                    Reply::Leave => "received",
                };
                done.push((agency_id(&AGENCIES[*r])?, what));
            }
            documents.push(DemoDocument {
                sender: agency_id(spec)?,
                id,
                notation: record
                    .metadata
                    .number_notation()
                    .unwrap_or_else(|| story.notation.into()),
                subject: story.subject.into(),
                recipients: done,
            });
        }
        Ok(DemoCity {
            agencies,
            documents,
            root_certificate: data.join("trust").join("demo-ca-root.crt.pem"),
        })
    }
}

/// The leader signs `file` (detached CAdES, time-stamped), then the agency's device key
/// adds the seal (co-signature, time-stamped). Returns the `.p7s`.
fn sign_both(
    fetcher: Arc<dyn Fetcher>,
    keys: &Keystore,
    (leader, seal): &(String, String),
    passphrase: &str,
    file: &Path,
    tsa: &str,
) -> AppResult<PathBuf> {
    let out = crate::verify::p7s_beside(file);
    for (name, cosign) in [(leader, None), (seal, Some(out.as_path()))] {
        let (key, chain) = keys.load(name, passphrase, None)?;
        sign_detached(
            &key,
            &chain,
            &DetachedRequest {
                file,
                out: Some(out.clone()),
                cosign,
                tsa: Some(tsa),
                embed_revocation: true,
                force: false,
            },
            fetcher.as_ref(),
            OffsetDateTime::now_utc(),
        )?;
    }
    Ok(out)
}

fn document_text(spec: &AgencySpec, story: &Story, now: OffsetDateTime) -> String {
    let date = now.to_offset(VIETNAM).date();
    let (leader, title) = spec.people[0];
    let on_behalf = if story.sender == 0 {
        "TM. ỦY BAN NHÂN DÂN"
    } else {
        ""
    };
    format!(
        "{agency}\n\
         CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM — Độc lập - Tự do - Hạnh phúc\n\n\
         {kind} Số: {notation}\n\
         Cần Thơ, ngày {day:02} tháng {month:02} năm {year}\n\
         {subject}\n\n\
         {body}\n\n\
         {on_behalf}\n\
         {title_upper}\n\n\
         {leader}\n\n\
         (Văn bản thử nghiệm của kyso serve --demo — demo document)\n",
        agency = spec.name.to_uppercase(),
        kind = story.doc_type.vietnamese_name().to_uppercase(),
        notation = story.notation,
        day = date.day(),
        month = u8::from(date.month()),
        year = date.year(),
        subject = story.subject,
        body = story.body,
        title_upper = title.to_uppercase(),
    )
}
