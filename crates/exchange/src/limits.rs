//! Limits applied to untrusted input.

/// Limits for parsing packages and status messages from untrusted bytes. Every parser of
/// this crate takes one; [`Limits::default`] suits a node receiving documents between
/// agencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Size of the manifest frame (header and attachment list), in bytes. Default 1 MiB.
    pub max_manifest_bytes: u32,
    /// Size of the trace frame, in bytes. Default 64 KiB.
    pub max_trace_bytes: u32,
    /// Entries in the trace (hops). Default 64.
    pub max_trace_hops: usize,
    /// Number of attachments. Default 100.
    pub max_attachments: usize,
    /// Size of one attachment, in bytes. Default 100 MiB.
    pub max_attachment_bytes: u64,
    /// Sum of the attachment sizes, in bytes. Default 200 MiB.
    pub max_total_bytes: u64,
    /// Length of an attachment name, in UTF-8 bytes. Default 255 (a file name on common
    /// file systems).
    pub max_name_bytes: usize,
    /// Size of an edXML document, in bytes. Default 300 MiB (base64 of the default
    /// total, and the header).
    pub max_xml_bytes: usize,
    /// Nesting depth of XML elements. Default 32.
    pub max_xml_depth: usize,
    /// Number of XML elements. Default 20,000.
    pub max_xml_elements: usize,
    /// Size of a JSON status message, in bytes. Default 64 KiB.
    pub max_status_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_manifest_bytes: 1 << 20,
            max_trace_bytes: 64 << 10,
            max_trace_hops: 64,
            max_attachments: 100,
            max_attachment_bytes: 100 << 20,
            max_total_bytes: 200 << 20,
            max_name_bytes: 255,
            max_xml_bytes: 300 << 20,
            max_xml_depth: 32,
            max_xml_elements: 20_000,
            max_status_bytes: 64 << 10,
        }
    }
}

impl Limits {
    /// The largest package in kyso's wire format these limits accept: magic, manifest
    /// frame, digest, every attachment body, trace frame (the body limit of a node
    /// receiving packages).
    pub fn max_package_bytes(&self) -> u64 {
        crate::MAGIC.len() as u64
            + 4
            + u64::from(self.max_manifest_bytes)
            + 32
            + self.max_total_bytes
            + 4
            + u64::from(self.max_trace_bytes)
    }
}
