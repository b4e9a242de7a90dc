#!/usr/bin/env bash
# PDF verification as whole processes: `kyso verify FILE.pdf` beside poppler's `pdfsig`
# on a 1 MB and a 100 MB PDF, each signed twice by pyHanko (the second signature
# visible, so the modification analysis and the appearance geometry run), plus kyso's
# peak memory on the 100 MB file (target: file size + 64 MB).
#
# Needs: python3, openssl, pyHanko (.venv, made by scripts/test.sh), pdfsig and certutil
# (poppler-utils, libnss3-tools), hyperfine. Usage: scripts/bench-pdf.sh [--no-build]
# [--out DIR].
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=1
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --out) out="$2"; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
for tool in python3 openssl pdfsig certutil hyperfine; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
pyhanko=${KYSO_PYHANKO:-$root/.venv/bin/pyhanko}
[ -x "$pyhanko" ] || { echo "missing pyHanko at $pyhanko (run scripts/test.sh)" >&2; exit 2; }
[ "$build" = 1 ] && cargo build --release -p kyso-cli -p kyso-pades --example sign_timing
target=${CARGO_TARGET_DIR:-$root/target}
kyso=$target/release/kyso
work=${out:-$(mktemp -d)}
mkdir -p "$work"
cd "$work"

# A throwaway CA and signer (P-256).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
  -days 30 -subj "/CN=kyso bench root" -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ee.key -out ee.csr \
  -subj "/CN=kyso bench signer" 2>/dev/null
printf 'keyUsage=critical,digitalSignature,nonRepudiation\n' > ext.cnf
openssl x509 -req -in ee.csr -CA root.pem -CAkey root.key -CAcreateserial -out ee.pem -days 30 \
  -extfile ext.cnf 2>/dev/null

# Pages with one (random, incompressible) image each: 4 × 250 kB and 100 × 1 MB.
python3 - <<'EOF'
import os
def make(path, pages, image_bytes):
    objs = {1: b"<< /Type /Catalog /Pages 2 0 R >>", 3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    kids, n = [], 4
    for p in range(pages):
        img, cont, page = n, n + 1, n + 2
        n += 3
        data = os.urandom(image_bytes)
        objs[img] = b"<< /Type /XObject /Subtype /Image /Width 1000 /Height 1000 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"
        c = b"q 500 0 0 700 50 100 cm /Im0 Do Q BT /F1 12 Tf 72 60 Td (Trang %d) Tj ET" % (p + 1)
        objs[cont] = b"<< /Length %d >>\nstream\n" % len(c) + c + b"\nendstream"
        objs[page] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>" % (img, cont)
        kids.append(page)
    objs[2] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % pages
    out, offs = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), {}
    for k in sorted(objs):
        offs[k] = len(out)
        out += b"%d 0 obj\n" % k + objs[k] + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % n + b"".join(b"%010d 00000 n \n" % offs[k] for k in range(1, n))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (n, x)
    open(path, "wb").write(out)
make("1mb.pdf", 4, 250_000)
make("100mb.pdf", 100, 1_000_000)
EOF
for f in 1mb 100mb; do
  "$pyhanko" sign addsig --field Sig1 pemder --key ee.key --cert ee.pem --no-pass $f.pdf $f-s1.pdf
  "$pyhanko" sign addsig --field 1/300,30,500,90/Sig2 pemder --key ee.key --cert ee.pem --no-pass \
    $f-s1.pdf $f-signed.pdf
done

# pdfsig trusts the root through an NSS database.
mkdir -p nss
certutil -N -d sql:nss --empty-password
certutil -A -d sql:nss -n root -t "CT,C,C" -i root.pem

"$kyso" verify 1mb-signed.pdf --trust root.pem --no-revocation-check --lang en | head -2
hyperfine -N --warmup 10 --runs 150 --export-markdown bench-1mb.md \
  "$kyso verify 1mb-signed.pdf --trust root.pem --no-revocation-check --json" \
  "pdfsig -nssdir sql:nss -no-ocsp 1mb-signed.pdf"
hyperfine -N --warmup 2 --runs 10 --export-markdown bench-100mb.md \
  "$kyso verify 100mb-signed.pdf --trust root.pem --no-revocation-check --json" \
  "pdfsig -nssdir sql:nss -no-ocsp 100mb-signed.pdf"
/usr/bin/time -f "kyso peak RSS on $(stat -c%s 100mb-signed.pdf)-byte file: %M KB" \
  "$kyso" verify 100mb-signed.pdf --trust root.pem --no-revocation-check --json >/dev/null

# Signing in process, key object reused, same files: kyso (invisible P-256, B-B) beside
# pyHanko's API (SimpleSigner loaded once, sign_pdf into memory).
sign_timing=$target/release/examples/sign_timing
cat > pyhanko_sign.py <<'PY'
import io, sys, time
from pyhanko.sign import signers
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
path, runs = sys.argv[1], int(sys.argv[2])
signer = signers.SimpleSigner.load("ee.key", "ee.pem")
data = open(path, "rb").read()
times = []
for i in range(runs):
    start = time.perf_counter()
    out = signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)),
                           signers.PdfSignatureMetadata(field_name="KysoBench"), signer=signer)
    times.append((time.perf_counter() - start) * 1e3)
times.sort()
print(f"pyHanko in-process sign ({len(data)} bytes, {runs} runs): median {times[runs // 2]:.2f} ms, "
      f"min {times[0]:.2f} ms, max {times[-1]:.2f} ms")
PY
for f in 1mb:30 100mb:5; do
  "$sign_timing" "${f%%:*}.pdf" "${f##*:}"
  "${pyhanko%/pyhanko}/python" pyhanko_sign.py "${f%%:*}.pdf" "${f##*:}"
done
/usr/bin/time -f "kyso sign peak RSS on $(stat -c%s 100mb.pdf)-byte file: %M KB" \
  "$sign_timing" 100mb.pdf 1 >/dev/null
echo "work files: $work"
