//! Command-line arguments, close to argv. Resolution (files read, keys opened) happens
//! in the command modules.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// kyso — ký số văn bản hành chính (digital signatures for Vietnamese administrative
/// documents).
#[derive(Debug, Parser)]
#[command(name = "kyso", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Data directory (keystore, trust store, CA). Default: $KYSO_DATA, else
    /// $XDG_DATA_HOME/kyso, else ~/.local/share/kyso.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the agency node: the JSON API (and, later, the web UI) on
    /// http://127.0.0.1:8080 over the data directory (SQLite + files by default).
    Serve(ServeArgs),
    /// The local signing helper for web pages (VGCA Sign Service protocol on
    /// wss://127.0.0.1:8987): signs with the token on this computer after a local
    /// confirmation. `kyso agent install-cert` first.
    Agent(crate::agent::AgentArgs),
    /// Run the end-to-end demonstration: a city CA, two agencies, a document signed by a
    /// leader and sealed by the agency, verified by the recipient.
    Demo(DemoArgs),
    /// Sign a file (detached CAdES `.p7s`); a PDF gets a PAdES signature inside it,
    /// with the Decree 30 appearance of its --role.
    Sign(Box<SignArgs>),
    /// Raise a signed PDF to PAdES B-LT (revocation data) or B-LTA (plus a document
    /// time-stamp).
    Extend(ExtendArgs),
    /// Verify a signed file.
    Verify(VerifyArgs),
    /// The built-in certificate authority.
    #[command(subcommand)]
    Ca(CaCommand),
    /// The keystore of signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Trust anchors (root certificates) used by `verify`.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// PKCS#11 signing devices (USB tokens).
    #[command(subcommand)]
    Token(TokenCommand),
    /// The archive of e-documents: add, import, files (hồ sơ), export, check.
    #[command(subcommand)]
    Archive(crate::archive::ArchiveCommand),
    /// Evidence records (RFC 4998) of files outside an archive: verify.
    #[command(subcommand)]
    Evidence(crate::evidence::EvidenceCommand),
    /// Registers (sổ đăng ký): numbering, printing, electronic policy.
    #[command(subcommand)]
    Register(crate::archive::RegisterCommand),
    /// Search the archive, accents optional: kyso search "quyet dinh bo nhiem" --year 2026
    /// --type QĐ.
    Search(crate::search::SearchArgs),
    /// The tamper-evident audit log: verify, prove, export for an inspector.
    #[command(subcommand)]
    Audit(crate::audit::AuditCommand),
    /// Agency users and roles.
    #[command(subcommand)]
    User(crate::custody::UserCommand),
    /// The agency's signing devices: registry, custody and handover with minutes.
    #[command(subcommand)]
    Device(crate::custody::DeviceCommand),
}

/// Where a token key is: module, token and key selectors.
#[derive(Debug, Clone, Args)]
pub(crate) struct TokenArgs {
    /// PKCS#11 module of the token vendor (e.g. /usr/lib/softhsm/libsofthsm2.so).
    #[arg(long = "pkcs11", value_name = "MODULE")]
    pub(crate) module: Option<std::path::PathBuf>,
    /// Token serial number (when several tokens are plugged in).
    #[arg(long, value_name = "SERIAL")]
    pub(crate) token_serial: Option<String>,
    /// Token label.
    #[arg(long, value_name = "LABEL")]
    pub(crate) token_label: Option<String>,
    /// Key CKA_ID (hex).
    #[arg(long, value_name = "HEX")]
    pub(crate) key_id: Option<String>,
    /// Key CKA_LABEL.
    #[arg(long, value_name = "LABEL")]
    pub(crate) key_label: Option<String>,
    /// Choose the key by the serial number (hex) of its certificate on the token.
    #[arg(long, value_name = "HEX")]
    pub(crate) cert_serial: Option<String>,
    /// Allow using the last PIN attempt before the token locks.
    #[arg(long)]
    pub(crate) allow_final_pin_try: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// List tokens and their signing keys (PIN from KYSO_PIN, else asked).
    List {
        #[command(flatten)]
        token: TokenArgs,
        /// Also log in and list the keys with their certificates.
        #[arg(long)]
        keys: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Where to put the demo's files (default: a new directory under the data directory).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Print in English instead of Vietnamese.
    #[arg(long, value_enum, default_value_t = Lang::Vi)]
    pub(crate) lang: Lang,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The file to sign.
    pub(crate) file: PathBuf,
    /// Keystore entry name.
    #[arg(long, value_name = "NAME", conflicts_with = "p12")]
    pub(crate) key: Option<String>,
    /// Sign with a key on a PKCS#11 token (PIN from KYSO_PIN, else asked).
    #[command(flatten)]
    pub(crate) token: TokenArgs,
    /// Who signs, when the token is the agency's registered device (only its current
    /// custodian may use it; every attempt is recorded in the audit log).
    #[command(flatten)]
    pub(crate) auth: crate::custody::AuthArgs,
    /// PKCS#12 file (.p12/.pfx) holding the key and certificate.
    #[arg(long, value_name = "FILE")]
    pub(crate) p12: Option<PathBuf>,
    /// Output path (default: FILE.p7s; for a PDF NAME.signed.pdf). Never the input itself.
    #[arg(long, value_name = "PATH")]
    pub(crate) out: Option<PathBuf>,
    /// Add this signature to an existing .p7s over the same file (co-signing, e.g. the
    /// agency seal after the leader).
    #[arg(long, value_name = "P7S")]
    pub(crate) cosign: Option<PathBuf>,
    /// RFC 3161 time-stamp authority URL: produces CAdES B-T.
    #[arg(long, value_name = "URL")]
    pub(crate) tsa: Option<String>,
    /// Use RSASSA-PSS for an RSA key.
    #[arg(long)]
    pub(crate) pss: bool,
    /// Do not fetch and embed the CRLs of the signer's chain.
    #[arg(long)]
    pub(crate) no_embed_revocation: bool,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub(crate) force: bool,
    /// PDF: PAdES level (default b-t with --tsa, else b-b); b-t and above need --tsa.
    #[arg(long, value_enum)]
    pub(crate) level: Option<PadesLevel>,
    /// PDF: which signature of Decree 30 (default: leader with --image, else invisible).
    #[arg(long, value_enum)]
    pub(crate) role: Option<RoleArg>,
    /// PDF: PNG with transparent background: the leader's blue signature or the agency's
    /// red seal (real size from its pHYs resolution).
    #[arg(long, value_name = "PNG")]
    pub(crate) image: Option<PathBuf>,
    /// PDF: page (1-based) for the signature (default: found by text, or page 1).
    #[arg(long, value_name = "N")]
    pub(crate) page: Option<usize>,
    /// PDF: explicit area x0,y0,x1,y1 in points (origin bottom-left).
    #[arg(long, value_name = "X0,Y0,X1,Y1", allow_hyphen_values = true)]
    pub(crate) rect: Option<String>,
    /// PDF: the signer's name line to place the leader's image above (default: the
    /// certificate's common name).
    #[arg(long, value_name = "TEXT")]
    pub(crate) anchor: Option<String>,
    /// PDF attachment: number and notation (số, ký hiệu) of the document, e.g. 15/QĐ-UBND.
    #[arg(long, value_name = "SỐ/KÝ HIỆU")]
    pub(crate) notation: Option<String>,
    /// PDF copy: the copy form.
    #[arg(long, value_enum)]
    pub(crate) copy_form: Option<CopyFormArg>,
    /// PDF copy: the copying agency (default: the certificate's organisation).
    #[arg(long, value_name = "NAME")]
    pub(crate) agency: Option<String>,
    /// PDF attachment/copy: template of the information line with {notation}, {form},
    /// {agency}, {time} (ISO 8601, +07:00), {date}, {clock}.
    #[arg(long, value_name = "TEMPLATE")]
    pub(crate) info_format: Option<String>,
    /// PDF: reason (lý do ký).
    #[arg(long)]
    pub(crate) reason: Option<String>,
    /// PDF: location (nơi ký).
    #[arg(long)]
    pub(crate) location: Option<String>,
    /// The largest PDF read (held in memory).
    #[command(flatten)]
    pub(crate) limit: crate::pdf_verify::MaxSize,
}

/// PAdES baseline levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PadesLevel {
    #[value(name = "b-b")]
    BB,
    #[value(name = "b-t")]
    BT,
    #[value(name = "b-lt")]
    BLt,
    #[value(name = "b-lta")]
    BLta,
}

/// Levels `kyso extend` raises to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ExtendLevel {
    #[value(name = "b-lt")]
    BLt,
    #[value(name = "b-lta")]
    BLta,
}

/// Decree 30 signature roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoleArg {
    /// The competent person: blue signature image between the authority and name lines.
    Leader,
    /// The agency on the main document: red seal over the left third of the leader's image.
    Seal,
    /// The agency on an attachment/appendix file: black 10 pt line, number + time, top right.
    Attachment,
    /// The agency on an e-copy: black 10 pt line, copy form + agency + time, top right.
    Copy,
    /// Not displayed.
    Invisible,
}

/// Copy forms (Decree 30 Art. 25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CopyFormArg {
    /// SAO Y.
    SaoY,
    /// SAO LỤC.
    SaoLuc,
    /// TRÍCH SAO.
    TrichSao,
}

#[derive(Debug, Args)]
pub(crate) struct ExtendArgs {
    /// The signed PDF.
    pub(crate) file: PathBuf,
    /// Target level.
    #[arg(long, value_enum)]
    pub(crate) level: ExtendLevel,
    /// RFC 3161 time-stamp authority URL (needed for b-lta).
    #[arg(long, value_name = "URL")]
    pub(crate) tsa: Option<String>,
    /// Output path (default: the file itself, extended in place — the update is
    /// appended, nothing signed changes).
    #[arg(long, value_name = "PATH")]
    pub(crate) out: Option<PathBuf>,
    /// Overwrite an existing --out file.
    #[arg(long)]
    pub(crate) force: bool,
    /// The largest PDF read (held in memory).
    #[command(flatten)]
    pub(crate) limit: crate::pdf_verify::MaxSize,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The signed file (for a .p7s given alone, the content is the file without .p7s).
    pub(crate) file: PathBuf,
    /// The detached signature (default: FILE.p7s).
    #[arg(long, value_name = "FILE.p7s")]
    pub(crate) sig: Option<PathBuf>,
    /// Trust anchor: a PEM/DER certificate file or a directory of them. Repeatable.
    /// Default: the data directory's trust store. Always in addition to --trust-list.
    #[arg(long, value_name = "PEM_OR_DIR")]
    pub(crate) trust: Vec<PathBuf>,
    /// Built-in trust list used besides --trust: `vn` (the Vietnamese national and
    /// government roots compiled into kyso), `none`, or a PEM file holding an updated
    /// list to use instead of the built-in one.
    #[arg(long, value_name = "vn|none|FILE", default_value = "vn")]
    pub(crate) trust_list: String,
    /// Validate as of this time (RFC 3339) instead of now.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
    /// Algorithm policy: SHA-1 signatures are acceptable when proven (time-stamp or
    /// --at) before this time (RFC 3339). Default 2016-01-01T00:00:00Z (ETSI TS 119 312).
    #[arg(long, value_name = "RFC3339")]
    pub(crate) sha1_until: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub(crate) json: bool,
    /// Language of the human output.
    #[arg(long, value_enum, default_value_t = Lang::Vi)]
    pub(crate) lang: Lang,
    /// Extra CRL files (DER or PEM). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) crl: Vec<PathBuf>,
    /// Extra certificates (intermediates) to build paths with. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub(crate) cert: Vec<PathBuf>,
    /// Do not fetch CRLs from the network; use only embedded or given ones.
    #[arg(long)]
    pub(crate) offline: bool,
    /// Skip revocation checking (reported in the output). Risky: a revoked
    /// certificate then validates.
    #[arg(long)]
    pub(crate) no_revocation_check: bool,
    /// PDF: write the exact revision that signature N (as numbered in the output)
    /// covers — "what was signed" — to --out, instead of verifying.
    #[arg(long, value_name = "N", requires = "out")]
    pub(crate) extract_signed: Option<usize>,
    /// Where --extract-signed writes (never the input file; an existing file only
    /// with --force).
    #[arg(long, value_name = "PATH", requires = "extract_signed")]
    pub(crate) out: Option<PathBuf>,
    /// With --extract-signed: replace an existing --out file.
    #[arg(long, requires = "extract_signed")]
    pub(crate) force: bool,
    /// PDF: which changes after a signature are allowed. `standard` (ISO 32000-2, as
    /// pyHanko): form filling and signing, annotations where a DocMDP P3
    /// certification permits them; `strict`: only signatures, time-stamps,
    /// validation data and metadata.
    #[arg(long, value_enum, default_value_t = PdfPolicy::Standard)]
    pub(crate) policy: PdfPolicy,
    /// PDF: the password of an encrypted document (user or owner password). Not needed
    /// for documents encrypted only to restrict permissions (empty user password).
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "KYSO_PDF_PASSWORD",
        hide_env_values = true
    )]
    pub(crate) password: Option<String>,
    /// The largest PDF read (held in memory).
    #[command(flatten)]
    pub(crate) limit: crate::pdf_verify::MaxSize,
}

/// `kyso verify --policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PdfPolicy {
    Standard,
    Strict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Lang {
    Vi,
    En,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CaCommand {
    /// Create a root CA and an issuing CA (plus the CA's OCSP responder and time-stamp
    /// authority certificates).
    Init(CaInitArgs),
    /// Issue a key and certificate into the keystore.
    Issue(Box<CaIssueArgs>),
    /// Revoke a certificate and publish new CRLs.
    Revoke(CaRevokeArgs),
    /// Publish fresh CRLs.
    Crl(CaDirArgs),
    /// Serve CRLs, OCSP and RFC 3161 time-stamps over HTTP.
    Serve(CaServeArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CaDirArgs {
    /// CA directory (default: DATA/ca).
    #[arg(long, value_name = "DIR")]
    pub(crate) ca: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CaInitArgs {
    #[command(flatten)]
    pub(crate) dir: CaDirArgs,
    /// Name of the CA (organisation), e.g. "Trung tâm Chứng thực thành phố Cần Thơ".
    #[arg(long)]
    pub(crate) name: String,
    /// Base URL where `kyso ca serve` will answer (put into certificates as CRL
    /// distribution point, OCSP and CA issuers locations).
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// Key type of the CA keys.
    #[arg(long, default_value = "p384")]
    pub(crate) key_type: String,
    /// Root validity in years.
    #[arg(long, default_value_t = 20)]
    pub(crate) years: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProfileArg {
    /// A leader's personal signing certificate.
    Person,
    /// An agency's seal (the shared device).
    Seal,
    /// A time-stamp authority.
    Tsa,
    /// An OCSP responder.
    Ocsp,
    /// A TLS server/client (agency node).
    Tls,
}

#[derive(Debug, Args)]
pub(crate) struct CaIssueArgs {
    #[command(flatten)]
    pub(crate) dir: CaDirArgs,
    /// Certificate profile.
    #[arg(long, value_enum)]
    pub(crate) profile: ProfileArg,
    /// Keystore entry name for the new key and certificate.
    #[arg(long)]
    pub(crate) name: String,
    /// Common name (person or agency name, Vietnamese with diacritics).
    #[arg(long)]
    pub(crate) cn: String,
    /// Organisation (agency).
    #[arg(long)]
    pub(crate) org: Option<String>,
    /// Organisational unit.
    #[arg(long)]
    pub(crate) ou: Option<String>,
    /// Locality.
    #[arg(long)]
    pub(crate) locality: Option<String>,
    /// Province or city.
    #[arg(long)]
    pub(crate) state: Option<String>,
    /// Title (chức vụ).
    #[arg(long)]
    pub(crate) title: Option<String>,
    /// UID attribute, e.g. "CCCD:092012345678" or "MST:1800123456".
    #[arg(long)]
    pub(crate) uid: Option<String>,
    /// E-mail address.
    #[arg(long)]
    pub(crate) email: Option<String>,
    /// DNS names (TLS profile).
    #[arg(long = "dns")]
    pub(crate) dns: Vec<String>,
    /// Key type: p256, p384, rsa2048, rsa3072, ed25519.
    #[arg(long, default_value = "p256")]
    pub(crate) key_type: String,
    /// Validity in days.
    #[arg(long, default_value_t = 1095)]
    pub(crate) days: u32,
    /// Start of validity (RFC 3339), default now.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) not_before: Option<String>,
    /// Certify an existing public key (SPKI, PEM or DER — e.g. read from a token with
    /// `pkcs11-tool --read-object --type pubkey`) instead of generating a key; the
    /// certificate chain is written to --cert-out.
    #[arg(long, value_name = "FILE", requires = "cert_out")]
    pub(crate) public_key: Option<PathBuf>,
    /// Where to write the certificate chain (PEM) with --public-key.
    #[arg(long, value_name = "FILE")]
    pub(crate) cert_out: Option<PathBuf>,
    /// Also write a PKCS#8 + certificate pair in PEM to this directory, unencrypted
    /// (for feeding peers such as openssl in tests). Risky.
    #[arg(long, value_name = "DIR")]
    pub(crate) export_plain: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CaRevokeArgs {
    #[command(flatten)]
    pub(crate) dir: CaDirArgs,
    /// Serial number (hex) of the certificate to revoke.
    #[arg(long, value_name = "HEX", required_unless_present = "cert")]
    pub(crate) serial: Option<String>,
    /// The certificate to revoke (PEM/DER).
    #[arg(long, value_name = "FILE")]
    pub(crate) cert: Option<PathBuf>,
    /// Reason: unspecified, key-compromise, affiliation-changed, superseded,
    /// cessation-of-operation, certificate-hold, privilege-withdrawn.
    #[arg(long, default_value = "unspecified")]
    pub(crate) reason: String,
    /// Revocation time (RFC 3339), default now.
    #[arg(long, value_name = "RFC3339")]
    pub(crate) at: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CaServeArgs {
    #[command(flatten)]
    pub(crate) dir: CaDirArgs,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8480")]
    pub(crate) listen: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyCommand {
    /// Import a PKCS#12 (.p12/.pfx) file into the keystore (encrypted at rest).
    Import(KeyImportArgs),
    /// List keystore entries.
    List,
}

#[derive(Debug, Args)]
pub(crate) struct KeyImportArgs {
    /// The .p12/.pfx file.
    pub(crate) file: PathBuf,
    /// Entry name.
    #[arg(long)]
    pub(crate) name: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TrustCommand {
    /// Add a root certificate to the trust store.
    Add {
        /// PEM or DER certificate.
        file: PathBuf,
    },
    /// List trust anchors.
    List,
}

/// `kyso serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// A demo city on this machine: a new data directory (DATA/demo-<time>, or --data
    /// given, which must be new or empty) with a CA whose CRL/OCSP/time-stamp services
    /// run on loopback, three agencies with a user per role (random passwords printed
    /// once), a software key standing in for each agency's token, and documents sent
    /// between them; then serve it.
    #[arg(long, conflicts_with = "config")]
    pub(crate) demo: bool,
    /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// PostgreSQL URL; default: SQLite in the data directory.
    #[arg(
        long,
        env = "KYSO_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<String>,
    /// TLS certificate chain (PEM); with --tls-key, serve HTTPS.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// A TOML configuration file (keys: listen, data, database_url, tls_cert, tls_key,
    /// upload_limit, verify_limit, verify_rate_per_minute, verify_concurrency,
    /// pkcs11_module, exchange_listen, exchange_cert, exchange_key, exchange_ca,
    /// exchange_relay, exchange_crl); flags
    /// override it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Public verifications per minute per client address (0: no limit; default 600).
    #[arg(long, value_name = "N")]
    pub(crate) verify_rate_per_minute: Option<u32>,
    /// The PKCS#11 module (token vendor's library) of the agency device attached to this
    /// machine: its custodian can then seal documents from the browser, giving the PIN
    /// for each seal.
    #[arg(long = "pkcs11", value_name = "MODULE")]
    pub(crate) pkcs11_module: Option<PathBuf>,
    /// Where other kyso nodes deliver packages and statuses: HTTPS that requires a
    /// client certificate of the node CA; also starts the outbox worker delivering this
    /// node's packages and statuses to other nodes.
    #[arg(
        long,
        value_name = "ADDR",
        requires_all = ["exchange_cert", "exchange_key", "exchange_ca"]
    )]
    pub(crate) exchange_listen: Option<std::net::SocketAddr>,
    /// This node's certificate chain (PEM, `kyso ca issue --profile tls`), used as
    /// server and as client.
    #[arg(long, value_name = "PEM", requires = "exchange_listen")]
    pub(crate) exchange_cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long, value_name = "PEM", requires = "exchange_listen")]
    pub(crate) exchange_key: Option<PathBuf>,
    /// The CA certificates (PEM) issuing node certificates.
    #[arg(long, value_name = "PEM", requires = "exchange_listen")]
    pub(crate) exchange_ca: Option<PathBuf>,
    /// Hub mode: pass on packages and statuses for agencies hosted on other nodes that
    /// this node's directory knows (store and forward); receivers check the origin
    /// node's signature, so the hub cannot alter what it relays.
    #[arg(long, requires = "exchange_listen")]
    pub(crate) exchange_relay: bool,
    /// CRLs of the node CA (PEM or DER): nodes whose certificate is revoked are refused
    /// at the handshake.
    #[arg(long, value_name = "FILE", requires = "exchange_listen")]
    pub(crate) exchange_crl: Option<PathBuf>,
    /// Seal the archived originals waiting for their evidence record (RFC 4998) with
    /// this time-stamp authority, at start and then every --evidence-every hours.
    #[arg(long, value_name = "URL")]
    pub(crate) evidence_tsa: Option<String>,
    /// Hours between two sealings (default 24).
    #[arg(long, value_name = "HOURS", requires = "evidence_tsa")]
    pub(crate) evidence_every: Option<u64>,
    /// Each sealing run also renews by time-stamp the evidence records whose last TSA
    /// certificate expires within this many days (default 180).
    #[arg(long, value_name = "DAYS", requires = "evidence_tsa")]
    pub(crate) evidence_renew_before: Option<i64>,
    /// The port of `kyso agent` on the staff's PCs, which the web pages reach at
    /// wss://127.0.0.1:PORT to sign with a token (default 8987, the VGCA Sign Service's).
    #[arg(long, value_name = "PORT")]
    pub(crate) agent_port: Option<u16>,
}

/// Options every office command shares.
#[derive(Debug, Clone, Args)]
pub(crate) struct OfficeArgs {
    /// The agency whose archive and registers are used (mã định danh, 000.00.00.H13).
    #[arg(long, env = "KYSO_AGENCY_ID", value_name = "ID")]
    pub(crate) agency_id: String,
    /// The agency's name, printed on registers (default: its identifier).
    #[arg(long, env = "KYSO_AGENCY_NAME", value_name = "NAME")]
    pub(crate) agency_name: Option<String>,
    /// Database URL (postgres://…); default: SQLite in the data directory (kyso.db).
    #[arg(
        long,
        env = "KYSO_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<String>,
}
