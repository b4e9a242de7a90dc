#![allow(clippy::unwrap_used, reason = "test helpers panic on setup failure")]

//! Encrypted PDFs (standard security handler, ISO 32000-2 §7.6.4): documents encrypted
//! by qpdf with every revision it writes (R2 RC4 40-bit, R3 RC4 128-bit, R4 AES-128,
//! R6 AES-256; with and without object streams), signed by pyHanko with the encryption
//! kept, verified by kyso — signatures and the revision analysis, which compares
//! decrypted objects — and compared with pyHanko's verdict on the same file.

#[path = "support/encrypt.rs"]
mod encrypt;
#[path = "support/fixture.rs"]
mod fixture;

use encrypt::{change_page, pyhanko_verdicts, sign_encrypted};
use fixture::{codes, document};
use kyso_cades::Verdict;
use kyso_pades::verify::{PdfReport, Policy};
use kyso_pki::path::RevocationMode;

/// kyso's verdict with the test root, no revocation checks, `password` if given.
fn verify(pdf: &[u8], password: Option<&str>) -> PdfReport {
    fixture::try_verify(pdf, RevocationMode::Skip, Policy::default(), &[], password)
        .unwrap_or_else(|e| panic!("an encrypted PDF must get a verdict, not an error: {e}"))
}

fn plain() -> Vec<u8> {
    std::fs::read(document("quyet-dinh.pdf")).unwrap()
}

/// Every variant qpdf writes with the empty user password: (name, how, extra options).
const VARIANTS: [(&str, &[&str], &[&str]); 7] = [
    ("R6 AES-256", &["256"], &[]),
    (
        "R6 AES-256, object streams",
        &["256"],
        &["--object-streams=generate"],
    ),
    ("R4 AES-128", &["128", "--use-aes=y"], &[]),
    ("R3 RC4 128-bit", &["128", "--use-aes=n"], &[]),
    ("R2 RC4 40-bit", &["40"], &[]),
    // /EncryptMetadata false changes R4's key derivation.
    (
        "R4 AES-128, EncryptMetadata false",
        &["128", "--use-aes=y", "--cleartext-metadata"],
        &[],
    ),
    (
        "R6 AES-256, EncryptMetadata false",
        &["256", "--cleartext-metadata"],
        &[],
    ),
];

fn encrypted(how: &[&str], before: &[&str]) -> Vec<u8> {
    let enc = encrypt::encrypt(&plain(), "", "chu-so-huu", how, before);
    assert!(
        memchr_find(&enc, b"/Encrypt"),
        "qpdf did not encrypt ({how:?})"
    );
    enc
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn signer_name(r: &PdfReport, i: usize) -> Option<String> {
    r.signatures[i]
        .cms
        .signer
        .as_ref()
        .and_then(|s| s.common_name.clone())
}

#[test]
fn every_standard_handler_revision_verifies_valid_and_pyhanko_agrees() {
    for (what, how, before) in VARIANTS {
        let signed = sign_encrypted(&encrypted(how, before), "", "Sig1");
        let r = verify(&signed, None);
        assert_eq!(r.verdict, Verdict::Valid, "{what}: {:?}\n{r:#?}", codes(&r));
        assert_eq!(r.signatures.len(), 1, "{what}");
        assert_eq!(r.signatures[0].field, "Sig1", "{what}");
        assert_eq!(
            signer_name(&r, 0).as_deref(),
            Some("Nguyễn Văn Hùng"),
            "{what}"
        );
        assert!(r.warnings.is_empty(), "{what}: {:?}", codes(&r));
        let theirs = pyhanko_verdicts(&signed, "");
        assert_eq!(theirs.len(), 1, "{what}: {theirs:?}");
        assert!(theirs[0].1, "{what}: pyHanko says {theirs:?}");
    }
}

/// A second signature rewrites the catalog, the form and the page with fresh
/// encryption (new AES IVs): the revision analysis must compare decrypted objects and
/// see only a signature being added.
#[test]
fn co_signing_an_encrypted_document_stays_valid() {
    for (what, how, before) in [VARIANTS[0], VARIANTS[1], VARIANTS[2], VARIANTS[3]] {
        let once = sign_encrypted(&encrypted(how, before), "", "Sig1");
        let twice = sign_encrypted(&once, "", "Sig2");
        let r = verify(&twice, None);
        assert_eq!(r.verdict, Verdict::Valid, "{what}: {:?}\n{r:#?}", codes(&r));
        assert_eq!(r.signatures.len(), 2, "{what}");
        assert!(r.warnings.is_empty(), "{what}: {:?}", codes(&r));
        let theirs = pyhanko_verdicts(&twice, "");
        assert!(
            theirs.iter().all(|t| t.1),
            "{what}: pyHanko says {theirs:?}"
        );
    }
}

#[test]
fn a_later_encrypted_page_change_is_modified_as_pyhanko_says() {
    for (what, how, before) in [VARIANTS[0], VARIANTS[3]] {
        let signed = sign_encrypted(&encrypted(how, before), "", "Sig1");
        let changed = change_page(&signed, "");
        let r = verify(&changed, None);
        assert_eq!(
            r.verdict,
            Verdict::Modified,
            "{what}: {:?}\n{r:#?}",
            codes(&r)
        );
        // The signature itself is intact: only the later revision is refused.
        assert_eq!(
            r.signatures[0].cms.integrity,
            kyso_cades::report::Check::Passed,
            "{what}"
        );
        let theirs = pyhanko_verdicts(&changed, "");
        assert_eq!(theirs.len(), 1, "{what}: {theirs:?}");
        assert!(
            !theirs[0].1,
            "{what}: pyHanko accepts the change: {theirs:?}"
        );
    }
}

#[test]
fn a_flipped_signed_byte_is_invalid() {
    for (what, how, before) in [VARIANTS[0], VARIANTS[2], VARIANTS[4]] {
        let signed = sign_encrypted(&encrypted(how, before), "", "Sig1");
        // In the binary comment after the header: structure untouched, digest broken.
        let mut a = signed.clone();
        let comment = a.iter().position(|b| *b == b'\n').unwrap() + 2;
        a[comment] ^= 0x01;
        let r = verify(&a, None);
        assert_eq!(
            r.verdict,
            Verdict::Invalid,
            "{what}: {:?}\n{r:#?}",
            codes(&r)
        );
        // Inside the encrypted data of the first stream of the signed revision: the
        // stream no longer decrypts cleanly, which must not stop the verdict.
        let mut b = signed.clone();
        let at = b.windows(7).position(|w| w == b"stream\n").unwrap() + 7 + 20;
        b[at] ^= 0x55;
        let r = verify(&b, None);
        assert_eq!(
            r.verdict,
            Verdict::Invalid,
            "{what}: {:?}\n{r:#?}",
            codes(&r)
        );
    }
}

#[test]
fn a_user_password_is_required_and_accepted() {
    for (what, how) in [
        ("R6 AES-256", &["256"][..]),
        ("R4 AES-128", &["128", "--use-aes=y"]),
        ("R3 RC4 128-bit", &["128", "--use-aes=n"]),
        ("R2 RC4 40-bit", &["40"]),
    ] {
        let enc = encrypt::encrypt(&plain(), "mat-khau-2026", "chu-so-huu", how, &[]);
        let signed = sign_encrypted(&enc, "mat-khau-2026", "Sig1");
        for wrong in [None, Some("sai")] {
            let r = verify(&signed, wrong);
            assert_eq!(r.verdict, Verdict::Indeterminate, "{what}: {r:#?}");
            assert_eq!(
                r.reasons.iter().map(|x| x.code).collect::<Vec<_>>(),
                ["encrypted_password_required"],
                "{what}"
            );
            let reason = &r.reasons[0];
            assert!(reason.en.contains("password"), "{}", reason.en);
            assert!(reason.vi.contains("mật khẩu"), "{}", reason.vi);
        }
        // The user password, and the owner password, open it.
        for right in ["mat-khau-2026", "chu-so-huu"] {
            let r = verify(&signed, Some(right));
            assert_eq!(
                r.verdict,
                Verdict::Valid,
                "{what} ({right}): {:?}",
                codes(&r)
            );
            assert_eq!(signer_name(&r, 0).as_deref(), Some("Nguyễn Văn Hùng"));
        }
        let theirs = pyhanko_verdicts(&signed, "mat-khau-2026");
        assert!(
            theirs.iter().all(|t| t.1),
            "{what}: pyHanko says {theirs:?}"
        );
    }
}

/// AES-256 passwords are UTF-8: a Vietnamese password works.
#[test]
fn a_vietnamese_aes_256_password_is_accepted() {
    let enc = encrypt::encrypt(&plain(), "mật khẩu", "chủ sở hữu", &["256"], &[]);
    let signed = sign_encrypted(&enc, "mật khẩu", "Sig1");
    assert_eq!(verify(&signed, Some("mật khẩu")).verdict, Verdict::Valid);
    assert_eq!(verify(&signed, Some("chủ sở hữu")).verdict, Verdict::Valid);
    assert_eq!(
        verify(&signed, Some("mat khau")).verdict,
        Verdict::Indeterminate
    );
}

/// An encrypted document with no signature is unsigned, not an error.
#[test]
fn an_unsigned_encrypted_document_is_unsigned() {
    let r = verify(&encrypted(&["256"], &[]), None);
    assert_eq!(r.verdict, Verdict::Unsigned, "{:?}", codes(&r));
}

/// An encrypted string whose AES padding no longer checks out (a flipped byte in the
/// signed catalog's /Lang) is damage, reported as such: the verdict is `invalid`.
#[test]
fn a_string_that_no_longer_decrypts_is_invalid_not_an_error() {
    let mut signed = sign_encrypted(&encrypted(&["256"], &[]), "", "Sig1");
    let lang = signed.windows(7).rposition(|w| w == b"/Lang <").unwrap() + 7;
    let end = lang + signed[lang..].iter().position(|b| *b == b'>').unwrap();
    // The second-to-last ciphertext block: through CBC it garbles the padding.
    let at = end - 40;
    signed[at] = if signed[at] == b'0' { b'1' } else { b'0' };
    let r = verify(&signed, None);
    assert_eq!(r.verdict, Verdict::Invalid, "{:?}\n{r:#?}", codes(&r));
}

/// Damage anywhere in an encrypted signed file (a byte flipped every few hundred
/// bytes, one at a time) never panics, never stops verification with an error other
/// than a malformed structure, and is never `valid`.
#[test]
fn damage_to_an_encrypted_file_is_never_valid() {
    for (what, how, before) in [VARIANTS[0], VARIANTS[3]] {
        let signed = sign_encrypted(&encrypted(how, before), "", "Sig1");
        for at in (0..signed.len()).step_by(331) {
            let mut bad = signed.clone();
            bad[at] ^= 0x24;
            match fixture::verify_result(&bad) {
                Ok(r) => assert_ne!(
                    r.verdict,
                    Verdict::Valid,
                    "{what}: byte {at} flipped: {:?}",
                    codes(&r)
                ),
                Err(e) => assert!(
                    matches!(e, kyso_pades::verify::PdfError::Malformed { .. }),
                    "{what}: byte {at} flipped: {e}"
                ),
            }
        }
    }
}

/// R5 (the deprecated AES-256 revision pyHanko cannot sign) and R2 with a user
/// password, read through the owner password too: qpdf re-encrypts a signed file as a
/// whole, so the byte range breaks (invalid), but the field name — an encrypted UTF-16
/// string — reads back exactly, which only a right key gives.
#[test]
fn r5_and_owner_passwords_decrypt_strings() {
    let signed = fixture::sign_bytes(&plain(), "Chữ ký 1", fixture::Who::Leader, &[]);
    for (what, how, password) in [
        (
            "R5 AES-256, user password",
            &["256", "--force-R5"][..],
            "mat-khau",
        ),
        (
            "R5 AES-256, owner password",
            &["256", "--force-R5"],
            "chu-so-huu",
        ),
        ("R2 RC4 40-bit, owner password", &["40"], "chu-so-huu"),
    ] {
        let enc = encrypt::encrypt(&signed, "mat-khau", "chu-so-huu", how, &[]);
        let locked = verify(&enc, None);
        assert_eq!(locked.verdict, Verdict::Indeterminate, "{what}");
        let r = verify(&enc, Some(password));
        assert_eq!(r.verdict, Verdict::Invalid, "{what}: {:?}", codes(&r));
        assert_eq!(r.signatures.len(), 1, "{what}");
        assert_eq!(r.signatures[0].field, "Chữ ký 1", "{what}");
    }
}
