//! Registers and records files (Decree 30 App. IV and Art. 28–31): the register of a
//! year as a sheet (CSV / PDF), records files (hồ sơ) opened, filled and listed, and a
//! file exported for handing over to the archive (its documents, an XML description
//! with the App. VI metadata, and the table of contents as PDF).

use std::fs;
use std::path::{Path, PathBuf};

use kyso_audit::Outcome;
use kyso_model::RegisterKind;
use kyso_office::{
    Action, DocumentQuery, FileCode, RecordFile, RegisterSheet, Store, chronological,
    register_sheet, series, to_pdf,
};
use serde_json::{Value, json};

use crate::App;
use crate::actor::Actor;
use crate::audit::{AuditAction, AuditEvent};
use crate::error::{AppError, AppResult};

/// A records file to open.
#[derive(Debug, Clone, Default)]
pub struct NewRecordFile {
    /// File notation (`01.TCCB`) or a full file code.
    pub code: String,
    /// Year it is opened (default: this year).
    pub year: Option<u16>,
    /// Title.
    pub title: String,
    /// Heading of the file list (`I. Tổ chức cán bộ`).
    pub heading: String,
    /// Retention: `Vĩnh viễn` or a number of years.
    pub maintenance: String,
    /// Creator (unit or person).
    pub creator: String,
    /// Access regime.
    pub rights: String,
    /// Notes.
    pub note: String,
}

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The file's code.
    pub code: FileCode,
    /// The folder written.
    pub folder: PathBuf,
    /// Documents exported.
    pub documents: usize,
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn json_to_xml(name: &str, value: &Value, indent: usize, out: &mut String) {
    let pad = "  ".repeat(indent);
    match value {
        Value::Null => {}
        Value::Object(map) => {
            out.push_str(&format!("{pad}<{name}>\n"));
            for (k, v) in map {
                json_to_xml(k, v, indent + 1, out);
            }
            out.push_str(&format!("{pad}</{name}>\n"));
        }
        Value::Array(items) => {
            for item in items {
                json_to_xml(name, item, indent, out);
            }
        }
        Value::String(s) => out.push_str(&format!("{pad}<{name}>{}</{name}>\n", xml_escape(s))),
        other => out.push_str(&format!("{pad}<{name}>{other}</{name}>\n")),
    }
}

fn file_list_sheet(
    agency_name: &str,
    agency: &kyso_model::AgencyId,
    year: u16,
    files: &[RecordFile],
) -> RegisterSheet {
    let mut rows = Vec::new();
    let mut heading = String::new();
    for f in files {
        if f.heading != heading && !f.heading.is_empty() {
            heading = f.heading.clone();
            rows.push(vec![
                String::new(),
                heading.clone(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        rows.push(vec![
            f.file_code.notation().to_string(),
            f.title.clone(),
            f.maintenance.clone(),
            f.creator.clone(),
            f.description.clone(),
        ]);
    }
    let permanent = files.iter().filter(|f| f.is_permanent()).count();
    rows.push(vec![
        String::new(),
        format!(
            "Tổng số: {} hồ sơ, trong đó {} vĩnh viễn, {} có thời hạn",
            files.len(),
            permanent,
            files.len() - permanent
        ),
        String::new(),
        String::new(),
        String::new(),
    ]);
    RegisterSheet {
        title: format!("DANH MỤC HỒ SƠ NĂM {year}"),
        subtitle: format!("{agency_name} ({agency})"),
        columns: [
            "Số và ký hiệu hồ sơ",
            "Tên đề mục và tiêu đề hồ sơ",
            "Thời hạn bảo quản",
            "Đơn vị/người lập hồ sơ",
            "Ghi chú",
        ]
        .map(String::from)
        .to_vec(),
        widths: vec![12.0, 45.0, 12.0, 16.0, 15.0],
        rows,
    }
}

fn io_error(what: &Path, e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("{}: {e}", what.display()))
}

impl App {
    /// This year in Vietnam.
    pub fn this_year(&self) -> u16 {
        u16::try_from(self.now_and_today().1.year()).unwrap_or(2000)
    }

    /// A file code from a full code or, with the year (default this year), a notation.
    pub fn file_code(&self, actor: &Actor, code: &str, year: Option<u16>) -> AppResult<FileCode> {
        if let Ok(c) = FileCode::parse(code) {
            crate::actor::same_agency(actor, c.agency(), &format!("file {c}"))?;
            return Ok(c);
        }
        let year = year.unwrap_or_else(|| self.this_year());
        Ok(FileCode::new(actor.agency().clone(), year, code)?)
    }

    /// The register `register` (`outgoing`, `incoming`, `secret`, `copies`, `minutes`,
    /// `advisory/<name>`) of `year` as a sheet with Decree 30 App. IV's columns, and
    /// how many entries it has.
    pub async fn register_sheet(
        &self,
        actor: &Actor,
        year: Option<u16>,
        register: &str,
    ) -> AppResult<(RegisterSheet, usize)> {
        self.allow(actor, Action::ViewDocuments, "registers")
            .await?;
        let year = year.unwrap_or_else(|| self.this_year());
        let kind = RegisterKind::parse(register).map_err(|e| {
            AppError::invalid(
                "bad_register",
                format!("sổ không xác định {register:?}: {e}"),
                format!("unknown register {register:?}: {e}"),
            )
        })?;
        let key = series(actor.agency(), year, kind)?;
        let entries = self
            .archive()
            .documents(&DocumentQuery {
                series: Some(key.clone()),
                ..DocumentQuery::default()
            })
            .await?;
        let name = self.agency_name(actor.agency()).await?;
        Ok((register_sheet(&key, &name, &entries), entries.len()))
    }

    /// Opens a records file.
    pub async fn open_record_file(
        &self,
        actor: &Actor,
        new: NewRecordFile,
    ) -> AppResult<RecordFile> {
        self.allow(actor, Action::FileDocument, "records").await?;
        if new.title.trim().is_empty() {
            return Err(AppError::invalid(
                "missing_title",
                "hồ sơ cần có tiêu đề",
                "a records file needs a title",
            ));
        }
        let code = self.file_code(actor, &new.code, new.year)?;
        let file = RecordFile {
            file_code: code.clone(),
            heading: new.heading,
            title: new.title,
            maintenance: if new.maintenance.trim().is_empty() {
                "Vĩnh viễn".into()
            } else {
                new.maintenance
            },
            rights: new.rights,
            creator: new.creator,
            language: "vi".into(),
            start_date: None,
            end_date: None,
            doc_total: 0,
            page_total: 0,
            description: new.note,
        };
        self.archive().create_file(&file).await?;
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::File,
                format!("records-file:{code}"),
                Outcome::Succeeded,
            )
            .with("title", file.title.clone()),
        )
        .await?;
        Ok(file)
    }

    /// Puts document `id` into a records file; returns its ordinal in the file.
    pub async fn add_to_record_file(
        &self,
        actor: &Actor,
        code: &FileCode,
        id: i64,
    ) -> AppResult<u32> {
        self.allow(actor, Action::FileDocument, "records").await?;
        crate::actor::same_agency(actor, code.agency(), &format!("file {code}"))?;
        // The document must be the actor's agency's.
        let record = self.document_record(actor, id).await?;
        let ordinal = self.archive().file_document(code, id).await?;
        self.record_on(
            actor,
            AuditAction::File,
            &record,
            Outcome::Succeeded,
            vec![("records_file", code.to_string())],
        )
        .await?;
        Ok(ordinal)
    }

    /// The records files of a year, and the file list (danh mục hồ sơ) as a sheet.
    pub async fn record_files(
        &self,
        actor: &Actor,
        year: Option<u16>,
    ) -> AppResult<(Vec<RecordFile>, RegisterSheet)> {
        self.allow(actor, Action::ViewDocuments, "records").await?;
        let year = year.unwrap_or_else(|| self.this_year());
        let files = self.archive().record_files(actor.agency(), year).await?;
        let name = self.agency_name(actor.agency()).await?;
        let sheet = file_list_sheet(&name, actor.agency(), year, &files);
        Ok((files, sheet))
    }

    /// Exports a records file into `<out>/<file code>/`: its documents (originals with
    /// their signatures, the validation material captured at archiving
    /// `NNN_….material.json` and the evidence record `NNN_….ers` when sealed) numbered
    /// in order, `ho-so.xml` (the file and each document's
    /// metadata) and `muc-luc.pdf` (the table of contents).
    pub async fn export_record_file(
        &self,
        actor: &Actor,
        code: &FileCode,
        out: &Path,
    ) -> AppResult<Exported> {
        self.allow(actor, Action::ExportRecords, "records").await?;
        crate::actor::same_agency(actor, code.agency(), &format!("file {code}"))?;
        let file = self.archive().record_file(code).await?.ok_or_else(|| {
            AppError::not_found(
                format!("không có hồ sơ {code}"),
                format!("no records file {code}"),
            )
        })?;
        let mut docs = self.archive().file_documents(code).await?;
        chronological(&mut docs);
        let folder = out.join(kyso_office::safe_segment(&code.to_string()));
        fs::create_dir_all(&folder).map_err(|e| io_error(&folder, e))?;
        let mut xml_docs = String::new();
        let mut rows = Vec::new();
        let mut pages = 0u32;
        for (i, d) in docs.iter().enumerate() {
            let position = i + 1;
            let mut exported = Vec::new();
            if let (Some(path), Some(original)) = (self.archive().original_path(d), &d.original) {
                let dir = d
                    .archive_dir
                    .as_deref()
                    .and_then(|p| p.rsplit('/').next())
                    .unwrap_or("van-ban");
                let ext = original.document.name.trim_start_matches("document");
                let name = format!("{position:03}_{dir}{ext}");
                fs::copy(&path, folder.join(&name)).map_err(|e| io_error(&path, e))?;
                exported.push(name.clone());
                if let Some(sig) = &original.signature {
                    let sig_name = format!("{name}.p7s");
                    let from = path.with_file_name(&sig.name);
                    fs::copy(&from, folder.join(&sig_name)).map_err(|e| io_error(&from, e))?;
                    exported.push(sig_name);
                }
                // What keeps it verifiable without kyso's database: the validation
                // material captured when it was archived and its evidence record
                // (`kyso evidence verify FILE --p7s … --material … --ers …`).
                for (kept, suffix) in [
                    (kyso_store::MATERIAL_FILE, "material.json"),
                    (kyso_store::EVIDENCE_FILE, "ers"),
                ] {
                    let from = path.with_file_name(kept);
                    if from.is_file() {
                        let to = format!("{name}.{suffix}");
                        fs::copy(&from, folder.join(&to)).map_err(|e| io_error(&from, e))?;
                        exported.push(to);
                    }
                }
            }
            pages += d.metadata.page_amount.unwrap_or(0);
            let mut value = serde_json::to_value(&d.metadata).map_err(AppError::internal)?;
            if let Value::Object(map) = &mut value {
                map.insert("DocOrdinal".into(), json!(position));
                map.insert("Files".into(), json!(exported));
                if let Some(o) = &d.original {
                    map.insert("Sha256".into(), json!(o.document.sha256));
                }
            }
            json_to_xml("VanBan", &value, 1, &mut xml_docs);
            rows.push(vec![
                position.to_string(),
                d.metadata.number_notation().unwrap_or_default(),
                d.metadata
                    .issued_date
                    .map(kyso_office::date_opt::format_date)
                    .unwrap_or_default(),
                format!("{}: {}", d.metadata.type_name, d.metadata.subject),
                d.metadata.organ_name.clone(),
                d.metadata
                    .page_amount
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                exported.first().cloned().unwrap_or_default(),
            ]);
        }
        let mut file_value = serde_json::to_value(&file).map_err(AppError::internal)?;
        if let Value::Object(map) = &mut file_value {
            map.insert("DocTotal".into(), json!(docs.len()));
            map.insert("PageTotal".into(), json!(pages));
            if let Some(first) = docs.first().and_then(|d| d.metadata.issued_date) {
                map.insert(
                    "StartDate".into(),
                    json!(kyso_office::date_opt::format_date(first)),
                );
            }
            if let Some(last) = docs.last().and_then(|d| d.metadata.issued_date) {
                map.insert(
                    "EndDate".into(),
                    json!(kyso_office::date_opt::format_date(last)),
                );
            }
        }
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<HoSo>\n");
        let mut file_xml = String::new();
        json_to_xml("ThongTinHoSo", &file_value, 1, &mut file_xml);
        xml.push_str(&file_xml);
        xml.push_str(&xml_docs);
        xml.push_str("</HoSo>\n");
        kyso_store::write_atomic(&folder.join("ho-so.xml"), xml.as_bytes(), false)?;
        let sheet = RegisterSheet {
            title: "MỤC LỤC VĂN BẢN".into(),
            subtitle: format!("Hồ sơ {}: {}", code, file.title),
            columns: [
                "STT",
                "Số, ký hiệu",
                "Ngày tháng",
                "Tên loại và trích yếu",
                "Tác giả",
                "Số trang",
                "Tệp",
            ]
            .map(String::from)
            .to_vec(),
            widths: vec![5.0, 12.0, 9.0, 34.0, 16.0, 6.0, 18.0],
            rows,
        };
        kyso_store::write_atomic(&folder.join("muc-luc.pdf"), &to_pdf(&sheet)?, false)?;
        self.record(
            AuditEvent::new(
                actor.audit_name(),
                AuditAction::View,
                format!("records-file:{code}"),
                Outcome::Succeeded,
            )
            .with("export", folder.display().to_string())
            .with("documents", docs.len().to_string()),
        )
        .await?;
        Ok(Exported {
            code: code.clone(),
            folder,
            documents: docs.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_is_escaped_and_nested() {
        let mut out = String::new();
        json_to_xml(
            "VanBan",
            &json!({"Subject": "a < b & \"c\"", "Files": ["x.pdf", "y.p7s"], "Empty": null}),
            0,
            &mut out,
        );
        assert!(
            out.contains("<Subject>a &lt; b &amp; &quot;c&quot;</Subject>"),
            "{out}"
        );
        assert_eq!(out.matches("<Files>").count(), 2, "{out}");
        assert!(!out.contains("Empty"), "{out}");
    }
}
