#!/usr/bin/env python3
"""Generate kyso's own Vietnamese administrative test documents and signature images.

    python3 testdata/make_testdata.py           # from the repository root: build + verify
    python3 testdata/make_testdata.py --check   # verify only

Writes documents/ (PDFs, one .fodt source, README.md, layout.json) and images/ (PNGs)
beside this file, then checks every recorded position against `pdftotext -bbox`, checks
that the signature areas and info regions are blank in a raster (`pdftoppm`), and runs
`qpdf --check`.  Exit status is non-zero when a check fails.

Needs: Python 3 with reportlab, pillow, pypdf; Debian fonts-liberation2 (Liberation Serif 2,
Times-New-Roman metrics, every Vietnamese letter; *not* fonts-liberation 1.x), poppler-utils,
qpdf; optionally libreoffice-writer-nogui (for cong-van-libreoffice.pdf).

Everything here is synthetic: the agency, people, numbers, dates and the seal are made up
for tests.  Layout follows Decree 30/2020/NĐ-CP, Appendix I (A4 portrait, Times-metric font,
header columns, signer block, "Nơi nhận", page numbers from page 2).
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

import pypdf
import reportlab
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont
from PIL import __version__ as PIL_VERSION
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

HERE = Path(__file__).resolve().parent
DOCS = HERE / "documents"
IMGS = HERE / "images"
FONT_DIR = Path("/usr/share/fonts/truetype/liberation2")

MM = 72 / 25.4
PAGE_W, PAGE_H = A4  # 595.276 x 841.890 pt

# Ink extent of any Vietnamese letter in Liberation Serif 2 (all 4 styles), in em, measured
# with FreeType: highest is "Ẵ" bold (0.915), lowest "g" bold (0.221).  Used to define the
# blank signature area so that no glyph of the neighbouring lines reaches into it.
INK_ASC = 0.92
INK_DESC = 0.225

FONT_FILES = {
    "R": "LiberationSerif-Regular.ttf",
    "B": "LiberationSerif-Bold.ttf",
    "I": "LiberationSerif-Italic.ttf",
    "BI": "LiberationSerif-BoldItalic.ttf",
}
FONT_NAMES = {
    "R": "LiberationSerif",
    "B": "LiberationSerif-Bold",
    "I": "LiberationSerif-Italic",
    "BI": "LiberationSerif-BoldItalic",
}
ASC: dict[str, float] = {}  # FontDescriptor /Ascent as reportlab writes it (em)
DESC: dict[str, float] = {}  # FontDescriptor /Descent (negative, em)

VI_PROBE = "ạậếệộợủữựỵỹẠẬẾỆỘỢỦỮỰỴỸĐđƯưƠơẴễ"

AUTHOR = "Sở Thông tin và Truyền thông thành phố Cần Thơ (dữ liệu thử nghiệm kyso)"
CREATOR = "kyso testdata/make_testdata.py"
VN_TZ = dt.timezone(dt.timedelta(hours=7))

PARENT = "UBND THÀNH PHỐ CẦN THƠ"
AGENCY = "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"

SIGNERS = {
    "hung": dict(name="Nguyễn Văn Hùng", image="signature-blue.png"),
    "mai": dict(name="Trần Thị Mai", image="signature-blue-2.png"),
    "ha": dict(name="Lê Thị Thu Hà", image="signature-blue-3.png"),
}


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def sw(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, FONT_NAMES[font], size)


def r2(v: float) -> float:
    return round(v + 0.0, 2)


def box(b) -> list[float]:
    return [r2(v) for v in b]


def run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


# ----------------------------------------------------------------------------- fonts


def register_fonts() -> None:
    for key, fname in FONT_FILES.items():
        path = FONT_DIR / fname
        if not path.exists():
            sys.exit(f"missing {path}: apt-get install fonts-liberation2")
        font = TTFont(FONT_NAMES[key], str(path))
        missing = [ch for ch in VI_PROBE if ord(ch) not in font.face.charToGlyph]
        if missing:
            sys.exit(f"{path} lacks {''.join(missing)}: need Liberation 2.x, not 1.x")
        pdfmetrics.registerFont(font)
        ASC[key] = font.face.ascent / 1000.0
        DESC[key] = font.face.descent / 1000.0


# ----------------------------------------------------------------------------- layout engine


class Sheet:
    """A reportlab canvas with a top-down cursor that records where every text line went."""

    def __init__(self, path: Path, *, title: str, subject: str, created: dt.datetime,
                 margins_mm=(20, 20, 30, 15), left_col_mm: float = 75.0):
        self.path = Path(path)
        top, bottom, left, right = margins_mm
        self.margins = dict(top=top, bottom=bottom, left=left, right=right)
        self.x0 = left * MM
        self.x1 = PAGE_W - right * MM
        self.ytop = PAGE_H - top * MM
        self.ybot = bottom * MM
        self.split = self.x0 + left_col_mm * MM  # header / signer-block column boundary
        # invariant mode + SOURCE_DATE_EPOCH: byte-for-byte reproducible, dated like the text
        os.environ["SOURCE_DATE_EPOCH"] = str(int(created.timestamp()))
        try:
            self.c = canvas.Canvas(str(path), pagesize=A4, invariant=1, pageCompression=1,
                                   initialFontName=FONT_NAMES["R"], initialFontSize=14,
                                   lang="vi-VN")
        finally:
            del os.environ["SOURCE_DATE_EPOCH"]
        self.c.setTitle(nfc(title))
        self.c.setSubject(nfc(subject))
        self.c.setAuthor(nfc(AUTHOR))
        self.c.setCreator(CREATOR)
        self.page = 1
        self.y = self.ytop
        self.lines: list[dict] = []
        self.marks: dict[str, dict] = {}

    # -- primitives
    @property
    def cl(self) -> float:
        return (self.x0 + self.split) / 2

    @property
    def cr(self) -> float:
        return (self.split + self.x1) / 2

    def text(self, text, font, size, x, baseline, align="left", mark=None):
        text = nfc(text)
        w = sw(text, font, size)
        if align == "center":
            x -= w / 2
        elif align == "right":
            x -= w
        self.c.setFont(FONT_NAMES[font], size)
        self.c.drawString(x, baseline, text)
        rec = dict(page=self.page, text=text, font=FONT_NAMES[font], size=size,
                   baseline=baseline, bbox=(x, baseline + DESC[font] * size, x + w,
                                            baseline + ASC[font] * size))
        self.lines.append(rec)
        if mark:
            self.marks[mark] = rec
        return rec

    def words_line(self, words, size, x, baseline, gap=None, mark=None):
        """words: [(text, font)]; gap None = natural spaces.  Records one line."""
        fonts = {f for _, f in words}
        if gap is None and len(fonts) == 1:
            return self.text(" ".join(t for t, _ in words), words[0][1], size, x, baseline,
                             mark=mark)
        xx = x
        for i, (t, f) in enumerate(words):
            self.c.setFont(FONT_NAMES[f], size)
            self.c.drawString(xx, baseline, nfc(t))
            xx += sw(t, f, size)
            if i < len(words) - 1:
                xx += gap if gap is not None else sw(" ", f, size)
        rec = dict(page=self.page, text=nfc(" ".join(t for t, _ in words)),
                   font="+".join(sorted(FONT_NAMES[f] for f in fonts)), size=size,
                   baseline=baseline,
                   bbox=(x, baseline + min(DESC[f] for f in fonts) * size, xx,
                         baseline + max(ASC[f] for f in fonts) * size))
        self.lines.append(rec)
        if mark:
            self.marks[mark] = rec
        return rec

    def rule(self, xa, xb, y, width=0.6):
        self.c.setLineWidth(width)
        self.c.line(xa, y, xb, y)

    @staticmethod
    def first_baseline(top, size, leading):
        return top - ((leading - (INK_ASC + INK_DESC) * size) / 2 + INK_ASC * size)

    def new_page(self):
        self.c.showPage()
        self.page += 1
        self.y = self.ytop
        size = 13
        base = PAGE_H - self.margins["top"] * MM / 2 - 0.33 * size
        self.text(str(self.page), "R", size, (self.x0 + self.x1) / 2, base, "center",
                  mark=f"page_number_{self.page}")

    def ensure(self, height):
        if self.y - height < self.ybot:
            self.new_page()

    # -- blocks
    def header(self, *, number, date, agency_lines=(AGENCY,), vv_lines=()):
        lead = 15.0
        b1 = self.first_baseline(self.ytop, 12, lead)
        left = [(PARENT, "R")] + [(a, "B") for a in agency_lines]
        for i, (t, f) in enumerate(left):
            self.text(t, f, 12, self.cl, b1 - i * lead, "center",
                      mark="agency_parent" if i == 0 else f"agency_name_{i}")
        last_left = b1 - (len(left) - 1) * lead
        aw = max(sw(a, "B", 12) for a in agency_lines)
        self.rule(self.cl - 0.2 * aw, self.cl + 0.2 * aw, last_left - 6.5)
        self.text(NATION, "B", 12, self.cr, b1, "center", mark="national_title")
        self.text(MOTTO, "B", 13, self.cr, b1 - lead, "center", mark="motto")
        mw = sw(MOTTO, "B", 13)
        self.rule(self.cr - mw / 2, self.cr + mw / 2, b1 - lead - 5.0)
        b3 = min(last_left, b1 - lead) - 24
        self.text(number, "R", 13, self.cl, b3, "center", mark="number")
        self.text(date, "I", 14, self.cr, b3, "center", mark="place_date")
        last = b3
        for i, t in enumerate(vv_lines):
            last = b3 - 16 - i * 14
            self.text(t, "R", 12, self.cl, last, "center", mark=f"summary_vv_{i + 1}")
        self.y = last - INK_DESC * 14 - 6

    def title_block(self, type_name, summary_lines, *, before=14, after=10):
        self.y -= before
        cx = (self.x0 + self.x1) / 2
        if type_name:
            b = self.first_baseline(self.y, 14, 20)
            self.text(type_name, "B", 14, cx, b, "center", mark="type_name")
            self.y -= 20
        widths = []
        for i, t in enumerate(summary_lines):
            b = self.first_baseline(self.y, 14, 17)
            widths.append(self.text(t, "B", 14, cx, b, "center", mark=f"summary_{i + 1}")["bbox"])
            self.y -= 17
        if summary_lines:
            w = max(bb[2] - bb[0] for bb in widths)
            rw = max(0.35 * w, 36 * MM) / 2
            self.rule(cx - rw, cx + rw, self.y - 4)
            self.y -= 6
        self.y -= after

    def centered(self, text, font="B", size=14, *, before=6, after=6, leading=17, mark=None):
        self.y -= before
        self.ensure(leading)
        b = self.first_baseline(self.y, size, leading)
        rec = self.text(text, font, size, (self.x0 + self.x1) / 2, b, "center", mark=mark)
        self.y -= leading + after
        return rec

    @staticmethod
    def tokens(runs):
        if isinstance(runs, str):
            runs = [(runs, "R")]
        out = []
        for t, f in runs:
            out += [(w, f) for w in nfc(t).split()]
        return out

    @staticmethod
    def wrap(words, width, size, first_indent=0.0):
        lines, cur, curw = [], [], 0.0
        avail = width - first_indent
        for t, f in words:
            ww = sw(t, f, size)
            sp = sw(" ", cur[-1][1], size) if cur else 0.0
            if cur and curw + sp + ww > avail + 1e-6:
                lines.append(cur)
                cur, curw, avail = [], 0.0, width
                sp = 0.0
            cur.append((t, f))
            curw += sp + ww
        if cur:
            lines.append(cur)
        return lines

    def paragraph(self, runs, *, size=14, leading=17, indent=10 * MM, align="justify",
                  before=0, after=6, x_left=None, x_right=None, font="R", mark=None):
        if isinstance(runs, str):
            runs = [(runs, font)]
        xl = self.x0 if x_left is None else x_left
        xr = self.x1 if x_right is None else x_right
        words = self.tokens(runs)
        lines = self.wrap(words, xr - xl, size, indent)
        self.y -= before
        recs = []
        for i, ln in enumerate(lines):
            self.ensure(leading)
            b = self.first_baseline(self.y, size, leading)
            x = xl + (indent if i == 0 else 0.0)
            natural = sum(sw(t, f, size) for t, f in ln) + sum(
                sw(" ", f, size) for _, f in ln[:-1])
            gap = None
            if align == "justify" and i < len(lines) - 1 and len(ln) > 1:
                gap = ((xr - x) - sum(sw(t, f, size) for t, f in ln)) / (len(ln) - 1)
            elif align == "center":
                x = (xl + xr) / 2 - natural / 2
            elif align == "right":
                x = xr - natural
            recs.append(self.words_line(ln, size, x, b, gap,
                                        mark=(f"{mark}_{i + 1}" if mark else None)))
            self.y -= leading
        self.y -= after
        return recs

    def table(self, cols_mm, header, groups, *, size=12, leading=14.5, aligns=None, pad=3.0,
              hpad=1.5 * MM, after=8):
        """groups: list of row lists kept on one page; a cell None = spanned from above."""
        widths = [c * MM for c in cols_mm]
        assert abs(sum(widths) - (self.x1 - self.x0)) < 0.5, (sum(cols_mm), self.x1 - self.x0)
        xs = [self.x0]
        for w in widths:
            xs.append(xs[-1] + w)
        aligns = aligns or ["left"] * len(widths)

        def cell_lines(cell, col, font="R"):
            return self.wrap(self.tokens([(cell, font)]), widths[col] - 2 * hpad, size)

        def row_height(row, font="R"):
            n = max(len(cell_lines(c, j, font)) for j, c in enumerate(row) if c is not None)
            return n * leading + 2 * pad

        def draw_cell(lines, col, top, height, align):
            self.c.setLineWidth(0.5)
            self.c.rect(xs[col], top - height, widths[col], height)
            b = self.first_baseline(top - (height - len(lines) * leading) / 2, size, leading)
            for ln in lines:
                nat = sum(sw(t, f, size) for t, f in ln) + sum(sw(" ", f, size) for _, f in ln[:-1])
                if align == "center":
                    x = xs[col] + (widths[col] - nat) / 2
                else:
                    x = xs[col] + hpad
                self.words_line(ln, size, x, b)
                b -= leading

        def draw_header():
            h = row_height(header, "B")
            for j, c in enumerate(header):
                draw_cell(cell_lines(c, j, "B"), j, self.y, h, "center")
            self.y -= h

        first = groups[0]
        if self.y - row_height(header, "B") - sum(row_height(r) for r in first) < self.ybot:
            self.new_page()  # never leave a header row alone at the foot of a page
        draw_header()
        for g in groups:
            heights = [row_height(r) for r in g]
            # a spanned first column needs room for its own text
            for j in range(len(widths)):
                if g[0][j] is not None and len(g) > 1 and all(r[j] is None for r in g[1:]):
                    need = len(cell_lines(g[0][j], j)) * leading + 2 * pad
                    if need > sum(heights):
                        heights[-1] += need - sum(heights)
            if self.y - sum(heights) < self.ybot:
                self.new_page()
                draw_header()
            top = self.y
            for r, row in enumerate(g):
                for j, c in enumerate(row):
                    if c is None:
                        continue
                    span = 1
                    while r + span < len(g) and g[r + span][j] is None:
                        span += 1
                    h = sum(heights[r:r + span])
                    draw_cell(cell_lines(c, j), j, self.y, h, aligns[j])
                self.y -= heights[r]
            assert abs(top - sum(heights) - self.y) < 1e-6
        self.y -= after

    def signer_block(self, recipients, authority, name, *, blank_mm=28.0, before=10):
        """Decree 30 boxes 7a-7c (right) and 9b "Nơi nhận" (left), top-aligned."""
        s, lead = 14, 17.0
        off = (lead - (INK_ASC + INK_DESC) * s) / 2 + INK_ASC * s
        h_sign = off + (len(authority) - 1) * lead + INK_DESC * s + blank_mm * MM \
            + INK_ASC * s + INK_DESC * s
        h_recv = off + 14 + 13 * len(recipients)
        self.y -= before
        self.ensure(max(h_sign, h_recv) + 2)
        b1 = self.y - off
        for i, t in enumerate(authority):
            self.text(t, "B", s, self.cr, b1 - i * lead, "center", mark=f"authority_{i + 1}")
        bl = b1 - (len(authority) - 1) * lead
        blank_top = bl - INK_DESC * s
        blank_bot = blank_top - blank_mm * MM
        name_base = blank_bot - INK_ASC * s
        self.marks["signature_area"] = dict(page=self.page,
                                            bbox=(self.split, blank_bot, self.x1, blank_top))
        self.text(name, "B", s, self.cr, name_base, "center", mark="signer_name")
        self.text("Nơi nhận:", "BI", 12, self.x0, b1, mark="recipients_heading")
        b = b1 - 14
        for i, t in enumerate(recipients):
            rec = self.text(t, "R", 11, self.x0, b, mark=f"recipient_{i + 1}")
            assert rec["bbox"][2] < self.split - 2, t
            b -= 13
        self.y = min(name_base - INK_DESC * s, b) - 4

    def save(self):
        self.c.save()
        return self


# ----------------------------------------------------------------------------- document texts

CAN_CU_ND30 = ("Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ "
               "về công tác văn thư;")
CAN_CU_TCCQ = ("Căn cứ Quyết định của Ủy ban nhân dân thành phố Cần Thơ quy định chức năng, "
               "nhiệm vụ, quyền hạn và cơ cấu tổ chức của Sở Thông tin và Truyền thông;")


def doc_quyet_dinh(path: Path) -> Sheet:
    s = Sheet(path, created=dt.datetime(2026, 3, 5, 8, 30, tzinfo=VN_TZ),
              title="Quyết định số 15/QĐ-STTTT",
              subject="Phê duyệt danh sách cán bộ, công chức sử dụng chữ ký số chuyên dùng công vụ")
    s.header(number="Số: 15/QĐ-STTTT", date="Cần Thơ, ngày 05 tháng 3 năm 2026")
    s.title_block("QUYẾT ĐỊNH", [
        "Về việc phê duyệt danh sách cán bộ, công chức sử dụng",
        "chữ ký số chuyên dùng công vụ trong gửi, nhận văn bản điện tử",
    ])
    s.centered("GIÁM ĐỐC SỞ THÔNG TIN VÀ TRUYỀN THÔNG", before=0, after=6, mark="issuer")
    for t in ["Căn cứ Luật Giao dịch điện tử ngày 22 tháng 6 năm 2023;",
              CAN_CU_ND30,
              "Căn cứ Nghị định số 68/2024/NĐ-CP ngày 25 tháng 6 năm 2024 của Chính phủ "
              "quy định về chữ ký số chuyên dùng công vụ;",
              CAN_CU_TCCQ,
              "Theo đề nghị của Chánh Văn phòng Sở."]:
        s.paragraph(t, font="I", after=3)
    s.centered("QUYẾT ĐỊNH:", before=6, after=8, mark="decides")
    s.paragraph([("Điều 1.", "B"), (
        "Phê duyệt danh sách 12 cán bộ, công chức thuộc Sở Thông tin và Truyền thông sử dụng "
        "chữ ký số chuyên dùng công vụ trong gửi, nhận văn bản điện tử (chi tiết tại Phụ lục "
        "kèm theo Quyết định này).", "R")])
    s.paragraph([("Điều 2.", "B"), (
        "Cán bộ, công chức có tên tại Điều 1 có trách nhiệm tự quản lý, bảo quản thiết bị lưu "
        "khóa bí mật và chỉ sử dụng chữ ký số đúng thẩm quyền, đúng mục đích theo quy định.",
        "R")])
    s.paragraph([("Điều 3.", "B"), (
        "Quyết định này có hiệu lực kể từ ngày ký. Chánh Văn phòng Sở, Trưởng các phòng, đơn "
        "vị thuộc Sở và các cá nhân có tên tại Điều 1 chịu trách nhiệm thi hành Quyết định "
        "này./.", "R")])
    s.signer_block(["- Như Điều 3;", "- UBND thành phố (để b/c);", "- Giám đốc Sở (để b/c);",
                    "- Lưu: VT, VP."],
                   ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"], SIGNERS["hung"]["name"])
    return s.save()


CV_NUMBER = "Số: 123/STTTT-VP"
CV_DATE = "Cần Thơ, ngày 10 tháng 3 năm 2026"
CV_VV = ["V/v triển khai chữ ký số trong gửi,", "nhận văn bản điện tử"]
CV_TO = ["- Các phòng, đơn vị thuộc Sở;", "- Ủy ban nhân dân các xã, phường."]
CV_BODY = [
    "Thực hiện Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác "
    "văn thư và Quyết định số 28/2018/QĐ-TTg ngày 12 tháng 7 năm 2018 của Thủ tướng Chính phủ "
    "về việc gửi, nhận văn bản điện tử giữa các cơ quan trong hệ thống hành chính nhà nước, Sở "
    "Thông tin và Truyền thông đề nghị các cơ quan, đơn vị triển khai một số nội dung sau:",
    "1. Thực hiện ký số đối với 100% văn bản điện tử gửi, nhận qua hệ thống quản lý văn bản và "
    "điều hành, trừ văn bản có nội dung thuộc bí mật nhà nước. Người có thẩm quyền ký số trước; "
    "Văn thư ký số của cơ quan sau khi cấp số, thời gian ban hành.",
    "2. Hình ảnh chữ ký số của người có thẩm quyền là hình ảnh chữ ký tay màu xanh, định dạng "
    "PNG nền trong suốt; hình ảnh chữ ký số của cơ quan là hình ảnh con dấu màu đỏ, kích thước "
    "bằng kích thước thực tế của con dấu, trùm lên khoảng 1/3 hình ảnh chữ ký số của người có "
    "thẩm quyền về bên trái.",
    "3. Thủ trưởng các cơ quan, đơn vị chỉ đạo Văn thư kiểm tra tính xác thực, toàn vẹn của văn "
    "bản điện tử đến trước khi tiếp nhận; kịp thời phản hồi trạng thái xử lý qua hệ thống.",
    "Trong quá trình triển khai, nếu có khó khăn, vướng mắc, đề nghị các cơ quan, đơn vị phản "
    "ánh về Sở Thông tin và Truyền thông (qua Văn phòng Sở) để được hướng dẫn, hỗ trợ./.",
]
CV_RECIPIENTS = ["- Như trên;", "- Giám đốc Sở (để b/c);", "- Lưu: VT, VP."]
CV_AUTHORITY = ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"]


def doc_cong_van(path: Path) -> Sheet:
    s = Sheet(path, created=dt.datetime(2026, 3, 10, 9, 0, tzinfo=VN_TZ),
              title="Công văn số 123/STTTT-VP",
              subject="V/v triển khai chữ ký số trong gửi, nhận văn bản điện tử")
    s.header(number=CV_NUMBER, date=CV_DATE, vv_lines=CV_VV)
    s.y -= 14
    lead = 17.0
    b = s.first_baseline(s.y, 14, lead)
    s.text("Kính gửi:", "R", 14, s.x0 + 58 * MM, b, "right", mark="addressee_heading")
    for i, t in enumerate(CV_TO):
        s.text(t, "R", 14, s.x0 + 60 * MM, b - i * lead, mark=f"addressee_{i + 1}")
    s.y -= lead * len(CV_TO) + 10
    for t in CV_BODY:
        s.paragraph(t)
    s.signer_block(CV_RECIPIENTS, CV_AUTHORITY, SIGNERS["hung"]["name"])
    return s.save()


def doc_giay_moi(path: Path) -> Sheet:
    s = Sheet(path, created=dt.datetime(2026, 3, 6, 10, 0, tzinfo=VN_TZ),
              title="Giấy mời số 16/GM-STTTT",
              subject="Dự Hội nghị tập huấn sử dụng chữ ký số chuyên dùng công vụ",
              margins_mm=(20, 20, 30, 20), left_col_mm=72)
    s.header(number="Số: 16/GM-STTTT", date="Cần Thơ, ngày 06 tháng 3 năm 2026",
             agency_lines=("SỞ THÔNG TIN", "VÀ TRUYỀN THÔNG"))
    s.title_block("GIẤY MỜI", ["Dự Hội nghị tập huấn sử dụng chữ ký số chuyên dùng công vụ"])
    s.paragraph("Sở Thông tin và Truyền thông trân trọng kính mời:")
    s.paragraph([("Đại diện lãnh đạo và công chức làm công tác văn thư của các sở, ban, ngành "
                  "thành phố; Ủy ban nhân dân các xã, phường.", "B")])
    s.paragraph("Tới dự Hội nghị tập huấn sử dụng chữ ký số chuyên dùng công vụ và ký số văn bản "
                "điện tử theo Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ "
                "về công tác văn thư.")
    s.paragraph([("Thời gian:", "B"), ("08 giờ 00 phút, thứ Ba, ngày 17 tháng 3 năm 2026.", "R")])
    s.paragraph([("Địa điểm:", "B"),
                 ("Hội trường tầng 3, trụ sở Sở Thông tin và Truyền thông.", "R")])
    s.paragraph([("Nội dung:", "B"), (
        "Hướng dẫn ký số văn bản điện tử đúng thể thức; ký số văn bản kèm theo, phụ lục và bản "
        "sao điện tử; kiểm tra chữ ký số trên văn bản điện tử đến; quản lý, sử dụng thiết bị "
        "lưu khóa bí mật.", "R")])
    s.paragraph("Đề nghị đại biểu mang theo máy tính xách tay và thiết bị lưu khóa bí mật (USB "
                "token) đã được cấp để thực hành. Danh sách người tham dự gửi về Văn phòng Sở "
                "trước ngày 13 tháng 3 năm 2026.")
    s.paragraph("Rất mong quý đại biểu tham dự đúng thời gian./.")
    s.signer_block(["- Như trên;", "- Lưu: VT, VP."], ["GIÁM ĐỐC"], SIGNERS["mai"]["name"])
    return s.save()


def doc_bao_cao(path: Path) -> Sheet:
    s = Sheet(path, created=dt.datetime(2026, 3, 31, 15, 0, tzinfo=VN_TZ),
              title="Báo cáo số 45/BC-STTTT",
              subject="Kết quả triển khai ứng dụng chữ ký số quý I năm 2026",
              margins_mm=(25, 20, 35, 15), left_col_mm=72)
    s.header(number="Số: 45/BC-STTTT", date="Cần Thơ, ngày 31 tháng 3 năm 2026",
             agency_lines=("SỞ THÔNG TIN", "VÀ TRUYỀN THÔNG"))
    s.title_block("BÁO CÁO", ["Kết quả triển khai ứng dụng chữ ký số quý I năm 2026"])
    P, H = s.paragraph, (lambda t: s.paragraph([(t, "B")], after=4))
    P("Thực hiện chỉ đạo của Ủy ban nhân dân thành phố về đẩy mạnh ứng dụng chữ ký số trong "
      "hoạt động của các cơ quan nhà nước, Sở Thông tin và Truyền thông báo cáo kết quả triển "
      "khai quý I năm 2026 như sau:")
    H("I. KẾT QUẢ THỰC HIỆN")
    H("1. Công tác chỉ đạo, điều hành")
    P("Sở đã ban hành Quyết định số 15/QĐ-STTTT ngày 05 tháng 3 năm 2026 phê duyệt danh sách "
      "cán bộ, công chức sử dụng chữ ký số chuyên dùng công vụ và Công văn số 123/STTTT-VP ngày "
      "10 tháng 3 năm 2026 về việc triển khai chữ ký số trong gửi, nhận văn bản điện tử. Lãnh "
      "đạo Sở thường xuyên đôn đốc, kiểm tra việc thực hiện tại các phòng, đơn vị.")
    P("Văn phòng Sở được giao làm đầu mối theo dõi, tổng hợp; phối hợp với Trung tâm Công nghệ "
      "thông tin và Truyền thông bảo đảm hệ thống quản lý văn bản và điều hành hoạt động ổn "
      "định, thông suốt, kết nối liên thông với Trục liên thông văn bản quốc gia.")
    H("2. Cấp phát và quản lý chứng thư số")
    P("Trong quý, Sở đã đề nghị cấp mới 05 chứng thư số cá nhân, gia hạn 03 chứng thư số và "
      "thu hồi 01 chứng thư số của công chức đã chuyển công tác. Đến ngày 31 tháng 3 năm 2026, "
      "100% lãnh đạo Sở, lãnh đạo các phòng, đơn vị và công chức làm công tác văn thư đã được "
      "cấp chứng thư số chuyên dùng công vụ.")
    P("Thiết bị lưu khóa bí mật của cơ quan được giao Văn thư quản lý, sử dụng tại trụ sở cơ "
      "quan; mọi lần bàn giao thiết bị đều có văn bản cho phép của người có thẩm quyền và được "
      "lập biên bản theo quy định.")
    H("3. Kết quả ký số văn bản điện tử")
    P("Tổng số văn bản đi được ký số trong quý là 1.248 văn bản, đạt 100% văn bản đi không "
      "thuộc danh mục bí mật nhà nước; số văn bản đến có chữ ký số hợp lệ là 3.517 văn bản. "
      "Kết quả cụ thể theo tháng như sau:")
    s.table([24, 34, 40, 30, 32],
            ["Tháng", "Văn bản đi đã ký số", "Văn bản đến có chữ ký số hợp lệ",
             "Văn bản đến bị trả lại", "Tỷ lệ văn bản đi được ký số (%)"],
            [[["Tháng 01", "412", "1.165", "3", "100"],  # one group: kept on one page
              ["Tháng 02", "356", "1.021", "2", "100"],
              ["Tháng 3", "480", "1.331", "4", "100"],
              ["Cộng", "1.248", "3.517", "9", "100"]]],
            aligns=["left", "center", "center", "center", "center"])
    P("Các văn bản đến bị trả lại chủ yếu do chữ ký số của cơ quan ban hành không hợp lệ, chứng "
      "thư số đã hết hạn tại thời điểm ký hoặc tệp văn bản bị chỉnh sửa sau khi ký.")
    H("4. Gửi, nhận văn bản điện tử liên thông")
    P("Hệ thống đã tiếp nhận và phản hồi trạng thái tự động cho 100% văn bản điện tử đến qua "
      "Trục liên thông văn bản quốc gia; thời gian từ khi văn bản đến hệ thống đến khi Văn thư "
      "tiếp nhận trung bình dưới 02 giờ làm việc. Các văn bản đi được gửi ngay trong ngày ký; "
      "văn bản khẩn được gửi ngay sau khi ký số.")
    H("5. Công tác bảo đảm an toàn thông tin")
    P("Sở đã rà soát, cập nhật danh sách chứng thư số tin cậy; kiểm tra định kỳ nhật ký sử "
      "dụng thiết bị ký số; sao lưu dữ liệu hệ thống hằng tuần và không để xảy ra sự cố mất an "
      "toàn thông tin liên quan đến chữ ký số trong quý.")
    H("II. KHÓ KHĂN, VƯỚNG MẮC")
    P("1. Một số văn bản đến từ các cơ quan ngoài thành phố chưa có chữ ký số của cơ quan, tổ "
      "chức hoặc hình ảnh chữ ký số chưa đúng vị trí theo quy định tại Nghị định số "
      "30/2020/NĐ-CP.")
    P("2. Một số máy tính của cán bộ, công chức sử dụng hệ điều hành cũ, chưa tương thích với "
      "phần mềm ký số mới, ảnh hưởng đến tiến độ xử lý văn bản.")
    P("3. Việc kiểm tra trạng thái chứng thư số tại thời điểm ký đối với văn bản đến có lúc bị "
      "gián đoạn do đường truyền.")
    H("III. NHIỆM VỤ TRỌNG TÂM QUÝ II NĂM 2026")
    P("1. Tiếp tục duy trì 100% văn bản đi được ký số; thực hiện ký số đối với văn bản kèm "
      "theo, phụ lục và bản sao điện tử theo đúng thể thức quy định.")
    P("2. Nâng cấp phần mềm ký số, bổ sung chức năng tự động xác định vị trí đặt hình ảnh chữ "
      "ký theo thể thức văn bản và chức năng kiểm tra chữ ký số trên văn bản đến.")
    P("3. Tổ chức 02 lớp tập huấn cho công chức làm công tác văn thư và chuyên viên các phòng, "
      "đơn vị; biên soạn tài liệu hướng dẫn ký số văn bản điện tử.")
    P("4. Phối hợp kiểm tra việc quản lý, sử dụng thiết bị lưu khóa bí mật tại các phòng, đơn "
      "vị; xử lý nghiêm các trường hợp giao thiết bị cho người khác sử dụng trái quy định.")
    H("IV. KIẾN NGHỊ, ĐỀ XUẤT")
    P("1. Đề nghị Ủy ban nhân dân thành phố chỉ đạo các cơ quan, đơn vị thực hiện nghiêm việc "
      "ký số văn bản điện tử theo đúng thể thức quy định.")
    P("2. Đề nghị bố trí kinh phí nâng cấp thiết bị, phần mềm phục vụ ký số và xác thực chữ ký "
      "số trong năm 2026.")
    P("Trên đây là báo cáo kết quả triển khai ứng dụng chữ ký số quý I năm 2026 của Sở Thông "
      "tin và Truyền thông./.")
    s.signer_block(["- UBND thành phố (để b/c);", "- Các Phó Giám đốc Sở;",
                    "- Các phòng, đơn vị thuộc Sở;", "- Lưu: VT, VP."],
                   ["GIÁM ĐỐC"], SIGNERS["mai"]["name"])
    return s.save()


SCHEDULE = [
    ("Thứ Hai 09/3/2026", [
        ("07 giờ 30", "Chào cờ; giao ban Lãnh đạo Sở đầu tuần", "Giám đốc Sở", "Phòng họp số 1"),
        ("14 giờ 00", "Làm việc với Trung tâm Công nghệ thông tin và Truyền thông về nâng cấp hệ "
                      "thống quản lý văn bản và điều hành", "PGĐ Nguyễn Văn Hùng", "Phòng họp số 2"),
    ]),
    ("Thứ Ba 10/3/2026", [
        ("08 giờ 00", "Dự họp Ủy ban nhân dân thành phố về chuyển đổi số quý I năm 2026",
         "Giám đốc Sở", "Trụ sở UBND thành phố"),
        ("14 giờ 00", "Kiểm tra công tác văn thư, lưu trữ tại phòng Bưu chính, Viễn thông",
         "PGĐ Nguyễn Văn Hùng", "Phòng Bưu chính, Viễn thông"),
    ]),
    ("Thứ Tư 11/3/2026", [
        ("08 giờ 00", "Họp Hội đồng thẩm định dự án nâng cấp Trung tâm dữ liệu thành phố",
         "Giám đốc Sở", "Phòng họp số 1"),
        ("14 giờ 00", "Tiếp công dân định kỳ", "PGĐ Nguyễn Văn Hùng", "Phòng tiếp công dân"),
        ("16 giờ 00", "Duyệt nội dung tài liệu tập huấn ký số văn bản điện tử",
         "Giám đốc Sở", "Phòng làm việc Giám đốc"),
    ]),
    ("Thứ Năm 12/3/2026", [
        ("07 giờ 30", "Kiểm tra việc ứng dụng chữ ký số tại Ủy ban nhân dân phường Ninh Kiều",
         "PGĐ Nguyễn Văn Hùng", "UBND phường Ninh Kiều"),
        ("14 giờ 00", "Họp giao ban công tác chuyển đổi số; nghe báo cáo tiến độ kết nối Trục "
                      "liên thông văn bản", "Giám đốc Sở", "Phòng họp số 1"),
    ]),
    ("Thứ Sáu 13/3/2026", [
        ("08 giờ 00", "Làm việc với Văn phòng Sở về quản lý thiết bị lưu khóa bí mật của cơ quan "
                      "và biên bản bàn giao thiết bị", "Giám đốc Sở", "Phòng họp số 2"),
        ("14 giờ 00", "Làm việc tại cơ quan; xử lý văn bản điện tử tồn đọng trong tuần",
         "Lãnh đạo Sở", "Trụ sở Sở"),
    ]),
    ("Thứ Bảy 14/3/2026", [
        ("07 giờ 30", "Trực lãnh đạo; theo dõi vận hành hệ thống quản lý văn bản và điều hành",
         "PGĐ Nguyễn Văn Hùng", "Trụ sở Sở"),
        ("08 giờ 00", "Kiểm tra công tác sao lưu dữ liệu tại Trung tâm dữ liệu thành phố",
         "Giám đốc Trung tâm CNTT&TT", "Trung tâm dữ liệu thành phố"),
    ]),
]


def doc_thong_bao(path: Path) -> Sheet:
    s = Sheet(path, created=dt.datetime(2026, 3, 6, 16, 0, tzinfo=VN_TZ),
              title="Thông báo số 18/TB-STTTT",
              subject="Lịch làm việc của Lãnh đạo Sở tuần 11 năm 2026")
    s.header(number="Số: 18/TB-STTTT", date="Cần Thơ, ngày 06 tháng 3 năm 2026")
    s.title_block("THÔNG BÁO", ["Lịch làm việc của Lãnh đạo Sở tuần 11 năm 2026",
                                "(từ ngày 09/3/2026 đến ngày 13/3/2026)"])
    s.paragraph("Văn phòng Sở thông báo lịch làm việc của Lãnh đạo Sở Thông tin và Truyền thông "
                "tuần 11 năm 2026 như sau:")
    groups = []
    for day, items in SCHEDULE:
        rows = []
        for k, (t, content, chair, place) in enumerate(items):
            rows.append([day if k == 0 else None, t, content, chair, place])
        groups.append(rows)
    s.table([25, 22, 58, 30, 30], ["Thứ, ngày", "Thời gian", "Nội dung", "Chủ trì", "Địa điểm"],
            groups, aligns=["center", "center", "left", "center", "center"])
    s.paragraph("Lịch làm việc có thể thay đổi; Văn phòng Sở sẽ thông báo bổ sung (nếu có). Các "
                "phòng, đơn vị thuộc Sở căn cứ lịch làm việc chuẩn bị nội dung liên quan./.")
    s.signer_block(["- Ban Giám đốc Sở;", "- Các phòng, đơn vị thuộc Sở;",
                    "- Cổng thông tin điện tử Sở;", "- Lưu: VT, VP."],
                   ["TL. GIÁM ĐỐC", "CHÁNH VĂN PHÒNG"], SIGNERS["ha"]["name"])
    return s.save()


APPENDIX_ROWS = [
    ("Trần Thị Mai", "Giám đốc", "Ban Giám đốc Sở", ""),
    ("Nguyễn Văn Hùng", "Phó Giám đốc", "Ban Giám đốc Sở", ""),
    ("Lê Thị Thu Hà", "Chánh Văn phòng", "Văn phòng Sở", ""),
    ("Phạm Quốc Bảo", "Phó Chánh Văn phòng", "Văn phòng Sở", ""),
    ("Huỳnh Ngọc Trâm", "Văn thư", "Văn phòng Sở", "Quản lý thiết bị ký số của cơ quan"),
    ("Đặng Minh Khôi", "Trưởng phòng", "Phòng Bưu chính, Viễn thông", ""),
    ("Võ Thị Diễm Hương", "Phó Trưởng phòng", "Phòng Bưu chính, Viễn thông", ""),
    ("Bùi Đức Thắng", "Trưởng phòng", "Phòng Công nghệ thông tin", ""),
    ("Dương Thị Thuỵ Vy", "Chuyên viên", "Phòng Công nghệ thông tin", "Kỹ thuật viên hỗ trợ ký số"),
    ("Lý Hoàng Mỹ", "Chánh Thanh tra", "Thanh tra Sở", ""),
    ("Châu Văn Lực", "Giám đốc", "Trung tâm Công nghệ thông tin và Truyền thông", ""),
    ("Trương Hữu Nghĩa", "Phó Giám đốc", "Trung tâm Công nghệ thông tin và Truyền thông",
     "Phối hợp quản trị hệ thống"),
]


def doc_phu_luc(path: Path) -> Sheet:
    s = Sheet(path, created=dt.datetime(2026, 3, 5, 8, 35, tzinfo=VN_TZ),
              title="Phụ lục kèm theo Quyết định số 15/QĐ-STTTT",
              subject="Danh sách cán bộ, công chức sử dụng chữ ký số chuyên dùng công vụ")
    # Decree 30 App. I §III.1.d / Mẫu 2.2: the agency signs every separate appendix file; the
    # number/notation + signing time go top-right on page 1 (10 pt, black).  Keep it free.
    region_h = 16 * MM
    s.marks["info_region"] = dict(page=1, bbox=(s.x1 - 80 * MM, s.ytop - region_h, s.x1, s.ytop),
                                  note="inside the text area, above the heading")
    s.y = s.ytop - region_h - 2 * MM
    s.centered("Phụ lục", before=0, after=0, leading=20, mark="appendix_heading")
    s.centered("DANH SÁCH CÁN BỘ, CÔNG CHỨC SỬ DỤNG", before=0, after=0, mark="appendix_title_1")
    s.centered("CHỮ KÝ SỐ CHUYÊN DÙNG CÔNG VỤ", before=0, after=0, mark="appendix_title_2")
    s.paragraph("(Kèm theo Quyết định số 15/QĐ-STTTT ngày 05 tháng 3 năm 2026 của Giám đốc Sở "
                "Thông tin và Truyền thông)", font="I", indent=0, align="center",
                x_left=s.x0 + 10 * MM, x_right=s.x1 - 10 * MM, after=0, mark="attached_to")
    cx = (s.x0 + s.x1) / 2
    s.rule(cx - 20 * MM, cx + 20 * MM, s.y - 2)
    s.y -= 14
    rows = [[[str(i + 1), n, p, u, note]] for i, (n, p, u, note) in enumerate(APPENDIX_ROWS)]
    s.table([12, 43, 38, 44, 28], ["STT", "Họ và tên", "Chức vụ", "Đơn vị công tác", "Ghi chú"],
            rows, aligns=["center", "left", "left", "left", "left"])
    s.paragraph([("Tổng cộng: 12 người./.", "I")], indent=0)
    return s.save()


def doc_scan_source(path: Path, sig_png: Path, seal_png: Path) -> Sheet:
    """A paper Quyết định, signed in ink and sealed, to be scanned for the e-copy role."""
    s = Sheet(path, created=dt.datetime(2026, 2, 20, 9, 0, tzinfo=VN_TZ),
              title="Quyết định số 09/QĐ-STTTT (bản giấy)",
              subject="Thành lập Tổ công tác triển khai chữ ký số và văn bản điện tử")
    s.header(number="Số: 09/QĐ-STTTT", date="Cần Thơ, ngày 20 tháng 02 năm 2026")
    s.title_block("QUYẾT ĐỊNH", ["Về việc thành lập Tổ công tác triển khai",
                                 "chữ ký số và văn bản điện tử"])
    s.centered("GIÁM ĐỐC SỞ THÔNG TIN VÀ TRUYỀN THÔNG", before=0, after=6, mark="issuer")
    for t in [CAN_CU_ND30, CAN_CU_TCCQ, "Theo đề nghị của Chánh Văn phòng Sở."]:
        s.paragraph(t, font="I", after=3)
    s.centered("QUYẾT ĐỊNH:", before=6, after=8, mark="decides")
    s.paragraph([("Điều 1.", "B"), (
        "Thành lập Tổ công tác triển khai chữ ký số và văn bản điện tử của Sở Thông tin và "
        "Truyền thông (sau đây gọi là Tổ công tác), gồm: ông Nguyễn Văn Hùng, Phó Giám đốc Sở, "
        "Tổ trưởng; bà Lê Thị Thu Hà, Chánh Văn phòng, Tổ phó; ông Bùi Đức Thắng, Trưởng phòng "
        "Công nghệ thông tin, thành viên.", "R")])
    s.paragraph([("Điều 2.", "B"), (
        "Tổ công tác tham mưu Giám đốc Sở triển khai ký số văn bản điện tử, hướng dẫn các phòng, "
        "đơn vị thực hiện đúng thể thức và tự giải thể sau khi hoàn thành nhiệm vụ.", "R")])
    s.paragraph([("Điều 3.", "B"), (
        "Quyết định này có hiệu lực kể từ ngày ký. Chánh Văn phòng Sở, Trưởng các phòng, đơn vị "
        "thuộc Sở và các ông, bà có tên tại Điều 1 chịu trách nhiệm thi hành Quyết định này./.",
        "R")])
    s.signer_block(["- Như Điều 3;", "- Lưu: VT, VP."], ["GIÁM ĐỐC"], SIGNERS["mai"]["name"])
    # wet-ink signature centred in the blank area, seal (real size) over its left third
    x0, y0, x1, y1 = s.marks["signature_area"]["bbox"]
    sig_w, sig_h = 50 * MM, 20 * MM
    sx, sy = (x0 + x1) / 2 - sig_w / 2 + 2 * MM, (y0 + y1) / 2 - sig_h / 2 + 1 * MM
    s.c.drawImage(str(sig_png), sx, sy, sig_w, sig_h, mask="auto")
    d = 36 * MM
    seal_cx = sx + sig_w / 3 - d / 2 + 0.5 * MM
    seal_cy = sy + sig_h / 2 + 1.5 * MM
    s.c.drawImage(str(seal_png), seal_cx - d / 2, seal_cy - d / 2, d, d, mask="auto")
    s.marks["wet_signature"] = dict(page=1, bbox=(sx, sy, sx + sig_w, sy + sig_h))
    s.marks["seal"] = dict(page=1, bbox=(seal_cx - d / 2, seal_cy - d / 2, seal_cx + d / 2,
                                         seal_cy + d / 2))
    # Decree 30 App. I Part II §I.3 / Mẫu 3.2: e-copy info (copy form, agency, time) goes
    # top-right of page 1; on this scan only the top margin is free there.
    s.marks["info_region"] = dict(page=1, bbox=(s.x1 - 90 * MM, PAGE_H - 18 * MM, s.x1,
                                                PAGE_H - 5 * MM),
                                  note="in the top margin, above the national title")
    return s.save()


# ----------------------------------------------------------------------------- images


def catmull_rom(points, step):
    """Centripetal Catmull-Rom through points (mm); returns samples about `step` mm apart."""
    P = [points[0]] + list(points) + [points[-1]]
    out = []
    for i in range(1, len(P) - 2):
        p0, p1, p2, p3 = P[i - 1], P[i], P[i + 1], P[i + 2]

        def tj(ti, a, b):
            return ti + max(math.dist(a, b), 1e-6) ** 0.5

        t0 = 0.0
        t1 = tj(t0, p0, p1)
        t2 = tj(t1, p1, p2)
        t3 = tj(t2, p2, p3)
        n = max(2, int(math.dist(p1, p2) / step) + 1)
        for k in range(n):
            t = t1 + (t2 - t1) * k / n

            def lerp(a, b, ta, tb):
                w = (t - ta) / (tb - ta)
                return (a[0] + (b[0] - a[0]) * w, a[1] + (b[1] - a[1]) * w)

            a1 = lerp(p0, p1, t0, t1)
            a2 = lerp(p1, p2, t1, t2)
            a3 = lerp(p2, p3, t2, t3)
            b1 = lerp(a1, a2, t0, t2)
            b2 = lerp(a2, a3, t1, t3)
            out.append(lerp(b1, b2, t1, t2))
    out.append(points[-1])
    return out


SIGNATURE_STROKES = {
    # hand-placed pen paths in mm on a 50 x 20 mm card (origin bottom-left)
    "signature-blue.png": [  # Nguyễn Văn Hùng: "H" + "ùng" + long flourish
        [(2.6, 5.2), (4.8, 8.6), (7.3, 14.6), (8.6, 17.7), (8.4, 16.2), (7.0, 10.8), (5.9, 5.4),
         (6.0, 4.1), (7.2, 6.3), (9.6, 9.6), (12.3, 11.0), (13.5, 14.2), (14.3, 17.0),
         (13.9, 15.6), (12.7, 9.4), (12.1, 4.9), (13.0, 4.3), (14.6, 7.4), (15.3, 8.7),
         (15.5, 6.3), (16.3, 4.7), (17.5, 5.5), (18.4, 8.3), (18.7, 6.1), (19.5, 4.7),
         (20.5, 6.0), (21.3, 8.2), (22.1, 7.7), (22.7, 5.1), (23.7, 7.3), (24.8, 8.2),
         (25.4, 6.0), (26.2, 4.8), (27.5, 6.2), (28.6, 8.1), (27.4, 8.3), (26.7, 6.9),
         (27.7, 5.7), (29.3, 7.7), (29.1, 3.2), (27.8, 0.9), (25.4, 1.0), (24.8, 2.5),
         (28.5, 3.8), (36.0, 5.3), (43.5, 7.7), (48.6, 11.2)],
        [(16.6, 10.4), (15.7, 11.9)],
    ],
    "signature-blue-2.png": [  # Trần Thị Mai: sharp "M", "ai", looping underline
        [(4.2, 4.0), (5.6, 9.5), (7.0, 15.2), (8.0, 16.6), (8.9, 12.0), (9.6, 6.8), (10.4, 9.8),
         (12.3, 14.6), (13.5, 16.9), (14.2, 12.6), (14.7, 6.0), (15.4, 5.1), (16.6, 7.0),
         (18.3, 8.8), (17.4, 9.3), (16.3, 7.6), (17.0, 5.5), (18.6, 6.9), (19.4, 8.8),
         (19.7, 5.6), (20.9, 4.9), (21.9, 8.2), (22.5, 5.1), (24.2, 5.5), (29.8, 9.4),
         (37.5, 12.1), (44.2, 11.6), (46.4, 9.5), (43.4, 6.1), (33.0, 3.3), (19.5, 2.0),
         (9.0, 3.2), (6.6, 4.6)],
        [(22.7, 11.0), (23.0, 11.3)],
    ],
    "signature-blue-3.png": [  # Lê Thị Thu Hà: slanted "L" loop + "Hà" + tail
        [(9.5, 17.6), (7.4, 15.5), (5.6, 10.2), (4.6, 5.0), (3.4, 3.0), (2.4, 3.9), (4.6, 5.0),
         (9.0, 5.2), (12.5, 5.9), (14.3, 9.8), (16.2, 15.6), (16.9, 16.9), (16.2, 12.4),
         (15.1, 5.0), (16.2, 8.4), (19.0, 9.8), (21.0, 10.6), (21.5, 15.4), (20.8, 11.2),
         (20.1, 4.6), (21.6, 5.6), (23.9, 7.9), (22.6, 8.4), (21.9, 6.5), (23.3, 5.0),
         (24.9, 7.8), (25.5, 5.2), (29.5, 5.6), (36.0, 7.9), (41.5, 10.6)],
        [(24.3, 10.4), (26.0, 12.6)],
        [(12.0, 2.2), (24.0, 2.9), (35.5, 3.8)],
    ],
}


def make_signature(path: Path, strokes, *, seed: int, size_mm=(50.0, 20.0), dpi=300, ss=4,
                   ink=(22, 48, 160), pen_mm=0.50):
    rnd = random.Random(seed)
    W, H = round(size_mm[0] / 25.4 * dpi), round(size_mm[1] / 25.4 * dpi)
    k = dpi / 25.4 * ss  # supersampled px per mm
    mask = Image.new("L", (W * ss, H * ss), 0)
    d = ImageDraw.Draw(mask)
    for stroke in strokes:
        pts = catmull_rom(stroke, 0.02)
        n = len(pts)
        ph1, ph2 = rnd.uniform(0, 6.28), rnd.uniform(0, 6.28)
        for i, (x, y) in enumerate(pts):
            # pen pressure: slower in turns (thicker), tapered at both ends, a little wobble
            a = pts[max(0, i - 6)]
            b = pts[min(n - 1, i + 6)]
            chord = math.dist(a, b)
            arc = 0.02 * (min(n - 1, i + 6) - max(0, i - 6)) or 1e-6
            turn = 1.0 - min(1.0, chord / arc)
            u = i / max(1, n - 1)
            taper = min(1.0, u / 0.06, (1 - u) / 0.10) if n > 40 else 0.8
            taper = max(0.25, taper)
            wob = 0.9 + 0.1 * math.sin(u * 23 + ph1) * math.sin(u * 7 + ph2)
            r = 0.5 * pen_mm * k * (0.85 + 0.35 * turn) * taper * wob
            X, Y = x * k, (size_mm[1] - y) * k
            d.ellipse((X - r, Y - r, X + r, Y + r), fill=255)
    mask = mask.resize((W, H), Image.LANCZOS)
    # ink density varies a little, like a pen on paper
    tex = Image.effect_noise((W // 12 + 1, H // 12 + 1), 40).resize((W, H), Image.BICUBIC)
    tex = tex.point(lambda v: int(215 + 40 * v / 255))
    alpha = ImageChops.multiply(mask, tex)
    img = Image.new("RGBA", (W, H), ink + (0,))
    img.putalpha(alpha)
    img.save(path, dpi=(dpi, dpi), optimize=True)


def make_seal(path: Path, *, ring_text=AGENCY, centre_text="TP. CẦN THƠ", diameter_mm=36.0,
              dpi=300, ss=4, ink=(214, 28, 36), seed=30):
    px = round(diameter_mm / 25.4 * dpi)  # 425 px
    S = px * ss
    c = S / 2
    k = dpi / 25.4 * ss
    R = diameter_mm / 2
    mask = Image.new("L", (S, S), 0)
    d = ImageDraw.Draw(mask)

    def ring(r_mm, w_mm):
        r = r_mm * k
        d.ellipse((c - r, c - r, c + r, c + r), outline=255, width=max(1, round(w_mm * k)))

    ring(R - 0.12, 0.95)  # outer border
    ring(R - 1.55, 0.30)  # thin inner border
    ring(R - 6.55, 0.35)  # circle around the centre field
    sans = str(FONT_DIR / "LiberationSans-Bold.ttf")

    # ring text, upright letters reading clockwise over the top
    em_mm = 3.45
    font = ImageFont.truetype(sans, round(em_mm * k))
    r_base = (R - 5.35) * k
    chars = list(nfc(ring_text))
    adv = [font.getlength(ch) for ch in chars]
    span = math.radians(292)
    track = (span * r_base - sum(adv)) / (len(chars) - 1)
    assert track > 0, "ring text too long for the seal"
    pos = -span / 2
    g = round(2.2 * em_mm * k)
    for ch, a in zip(chars, adv):
        phi = pos + (a / 2) / r_base
        pos += (a + track) / r_base
        if ch == " ":
            continue
        glyph = Image.new("L", (g, g), 0)
        ImageDraw.Draw(glyph).text((g / 2, g / 2), ch, fill=255, font=font, anchor="ms")
        glyph = glyph.rotate(-math.degrees(phi), resample=Image.BICUBIC, center=(g / 2, g / 2))
        X = c + r_base * math.sin(phi)
        Y = c - r_base * math.cos(phi)
        ox, oy = round(X - g / 2), round(Y - g / 2)
        region = mask.crop((ox, oy, ox + g, oy + g))
        mask.paste(ImageChops.lighter(region, glyph), (ox, oy))

    def star(cx, cy, r_out):
        pts = []
        for i in range(10):
            ang = math.radians(-90 + 36 * i)
            r = r_out if i % 2 == 0 else r_out * 0.382
            pts.append((cx + r * math.cos(ang), cy + r * math.sin(ang)))
        d.polygon(pts, fill=255)

    star(c, c + (R - 3.05) * k, 1.05 * k)  # small star closing the ring at the bottom
    star(c, c - 3.3 * k, 4.1 * k)  # centre star
    # centre text, slightly condensed so it fits the inner field
    cfont = ImageFont.truetype(sans, round(3.3 * k))
    text = nfc(centre_text)
    tw = math.ceil(cfont.getlength(text))
    timg = Image.new("L", (tw + 8, round(6 * k)), 0)
    ImageDraw.Draw(timg).text((4, round(4.2 * k)), text, fill=255, font=cfont, anchor="ls")
    squeeze = min(1.0, (17.5 * k) / tw)
    timg = timg.resize((max(1, round(timg.width * squeeze)), timg.height), Image.LANCZOS)
    ox = round(c - timg.width / 2)
    oy = round(c + 5.2 * k - 4.2 * k)
    region = mask.crop((ox, oy, ox + timg.width, oy + timg.height))
    mask.paste(ImageChops.lighter(region, timg), (ox, oy))

    mask = mask.resize((px, px), Image.LANCZOS)
    random.seed(seed)
    tex = Image.effect_noise((px // 10 + 1, px // 10 + 1), 45).resize((px, px), Image.BICUBIC)
    tex = tex.point(lambda v: int(200 + 55 * v / 255))
    alpha = ImageChops.multiply(mask, tex)
    img = Image.new("RGBA", (px, px), ink + (0,))
    img.putalpha(alpha)
    img.save(path, dpi=(dpi, dpi), optimize=True)


def make_images() -> None:
    IMGS.mkdir(parents=True, exist_ok=True)
    for i, (name, strokes) in enumerate(SIGNATURE_STROKES.items()):
        make_signature(IMGS / name, strokes, seed=1000 + i)
    make_seal(IMGS / "seal-red.png")


# ----------------------------------------------------------------------------- scan


def make_scan(out_pdf: Path, tmp: Path) -> dict:
    src = doc_scan_source(tmp / "scan-source.pdf", IMGS / SIGNERS["mai"]["image"],
                          IMGS / "seal-red.png")
    run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(src.path), str(tmp / "scan")])
    img = Image.open(tmp / "scan.png").convert("RGB")
    W, H = img.size
    random.seed(2026)
    # paper tone with slow unevenness, a soft scanner blur and sensor noise
    low = Image.effect_noise((W // 80 + 1, H // 80 + 1), 30).resize((W, H), Image.BICUBIC)
    paper = Image.merge("RGB", [low.point(lambda v, b=b: int(b + 6 * (v - 128) / 128))
                                for b in (247, 245, 238)])
    img = ImageChops.multiply(img, paper)
    img = img.filter(ImageFilter.GaussianBlur(0.55))
    noise = Image.effect_noise((W, H), 5).convert("RGB")
    img = ImageChops.add(img, noise, scale=1.0, offset=-128)
    when = dt.datetime(2026, 3, 12, 3, 15, 0)  # UTC: 10:15 in Vietnam
    img.save(out_pdf, "PDF", resolution=200.0, quality=80,
             title=nfc("Bản sao điện tử - Quyết định số 09/QĐ-STTTT"),
             author=nfc(AUTHOR), creator=CREATOR + " (scan simulation, 200 dpi colour)",
             producer=f"Pillow {PIL_VERSION}", creationDate=when.timetuple(),
             modDate=when.timetuple())
    scan_w, scan_h = W * 72 / 200, H * 72 / 200
    dy = scan_h - PAGE_H  # same distances from the top-left corner; PDF y grows upwards

    def moved(m):
        x0, y0, x1, y1 = m["bbox"]
        out = dict(m, bbox=(x0, y0 + dy, x1, y1 + dy))
        if "baseline" in m:
            out["baseline"] = m["baseline"] + dy
        return out

    marks = {k: moved(v) for k, v in src.marks.items()}
    return dict(sheet=src, marks=marks, page_size=(scan_w, scan_h), pixels=(W, H))


# ----------------------------------------------------------------------------- LibreOffice


def fodt_cong_van(path: Path, margins=(20, 20, 30, 15), left_col=75.0) -> dict:
    top, bottom, left, right = margins
    width = 210 - left - right
    right_col = width - left_col
    e = lambda t: html.escape(nfc(t), quote=False)  # noqa: E731
    motto_w = sw(MOTTO, "B", 13) / MM
    motto_ind = (right_col - motto_w) / 2 - 0.6
    agency_rule = 0.4 * sw(AGENCY, "B", 12) / MM
    agency_ind = (left_col - agency_rule) / 2

    def pstyle(name, *, align="start", size=14, weight="normal", italic=False, extra_p="",
               extra_t=""):
        pp = {"fo:text-align": align, "fo:margin-top": "0mm", "fo:margin-bottom": "0mm"}
        pp.update(re.findall(r'(\S+?)="([^"]*)"', extra_p))
        st = ' fo:font-style="italic"' if italic else ""
        pattrs = " ".join(f'{k}="{v}"' for k, v in pp.items())
        return (f'<style:style style:name="{name}" style:family="paragraph" '
                f'style:parent-style-name="Standard"><style:paragraph-properties {pattrs}/>'
                f'<style:text-properties fo:font-size="{size}pt" fo:font-weight="{weight}"'
                f'{st} style:font-size-complex="{size}pt" {extra_t}/></style:style>')

    styles = "\n".join([
        pstyle("PParent", align="center", size=12),
        pstyle("PAgency", align="center", size=12, weight="bold"),
        pstyle("PAgencyRule", size=2, extra_p=f'fo:margin-left="{agency_ind:.2f}mm" '
               f'fo:margin-right="{agency_ind:.2f}mm" fo:border-bottom="0.6pt solid #000000" '
               f'fo:padding="0mm"'),
        pstyle("PNation", align="center", size=12, weight="bold"),
        pstyle("PMotto", align="center", size=13, weight="bold",
               extra_p=f'fo:margin-left="{motto_ind:.2f}mm" fo:margin-right="{motto_ind:.2f}mm" '
                       f'fo:border-bottom="0.6pt solid #000000" fo:padding-bottom="0.4mm" '
                       f'fo:padding-top="0mm" fo:padding-left="0mm" fo:padding-right="0mm"'),
        pstyle("PNumber", align="center", size=13, extra_p='fo:margin-top="5mm"'),
        pstyle("PDate", align="center", size=14, italic=True, extra_p='fo:margin-top="5mm"'),
        pstyle("PVv", align="center", size=12, extra_p='fo:margin-top="1mm"'),
        pstyle("PKinhGui", align="end", size=14, extra_p='fo:margin-right="2mm"'),
        pstyle("PTo", size=14),
        pstyle("PBody", align="justify", size=14,
               extra_p='fo:text-indent="10mm" fo:line-height="17pt" fo:margin-bottom="6pt"'),
        pstyle("PRecvHead", size=12, weight="bold", italic=True),
        pstyle("PRecv", size=11),
        pstyle("PSign", align="center", size=14, weight="bold"),
        pstyle("PSignName", align="center", size=14, weight="bold",
               extra_p='fo:margin-top="28mm"'),
        pstyle("PGap", size=14, extra_p='fo:line-height="14pt"'),
    ])

    def table(name, cols):
        cs = "".join(f'<style:style style:name="{name}.{chr(65 + i)}" style:family="table-column">'
                     f'<style:table-column-properties style:column-width="{w}mm"/></style:style>'
                     for i, w in enumerate(cols))
        return (f'<style:style style:name="{name}" style:family="table"><style:table-properties '
                f'style:width="{sum(cols)}mm" table:align="left" fo:margin-left="0mm" '
                f'fo:margin-top="0mm" fo:margin-bottom="0mm"/></style:style>{cs}')

    tables = table("THead", [left_col, right_col]) + table("TTo", [58, width - 58]) + \
        table("TSign", [left_col, right_col])

    def cell(*paras):
        return ('<table:table-cell table:style-name="TCell" office:value-type="string">'
                + "".join(f'<text:p text:style-name="{s}">{e(t)}</text:p>' for s, t in paras)
                + "</table:table-cell>")

    def trow(*cells):
        return "<table:table-row>" + "".join(cells) + "</table:table-row>"

    def tab(name, ncols, *rows):
        cols = "".join(f'<table:table-column table:style-name="{name}.{chr(65 + i)}"/>'
                       for i in range(ncols))
        return (f'<table:table table:name="{name}" table:style-name="{name}">{cols}'
                + "".join(rows) + "</table:table>")

    body = [
        tab("THead", 2,
            trow(cell(("PParent", PARENT), ("PAgency", AGENCY), ("PAgencyRule", "")),
                 cell(("PNation", NATION), ("PMotto", MOTTO))),
            trow(cell(("PNumber", CV_NUMBER), ("PVv", " ".join(CV_VV))),
                 cell(("PDate", CV_DATE)))),
        '<text:p text:style-name="PGap"/>',
        tab("TTo", 2, trow(cell(("PKinhGui", "Kính gửi:")),
                           cell(*[("PTo", t) for t in CV_TO]))),
        '<text:p text:style-name="PGap"/>',
        *[f'<text:p text:style-name="PBody">{e(t)}</text:p>' for t in CV_BODY],
        '<text:p text:style-name="PGap"/>',
        tab("TSign", 2,
            trow(cell(("PRecvHead", "Nơi nhận:"), *[("PRecv", t) for t in CV_RECIPIENTS]),
                 cell(*[("PSign", t) for t in CV_AUTHORITY],
                      ("PSignName", SIGNERS["hung"]["name"])))),
    ]
    doc = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
<office:meta><dc:title>{e("Công văn số 123/STTTT-VP")}</dc:title>
<dc:subject>{e(" ".join(CV_VV))}</dc:subject><meta:initial-creator>{e(AUTHOR)}</meta:initial-creator>
<dc:language>vi-VN</dc:language></office:meta>
<office:font-face-decls>
 <style:font-face style:name="Liberation Serif" svg:font-family="'Liberation Serif'"
  style:font-family-generic="roman" style:font-pitch="variable"/>
</office:font-face-decls>
<office:styles>
 <style:default-style style:family="paragraph">
  <style:paragraph-properties fo:orphans="2" fo:widows="2" style:writing-mode="lr-tb"/>
  <style:text-properties style:font-name="Liberation Serif" fo:font-size="14pt"
   fo:language="vi" fo:country="VN" style:font-name-asian="Liberation Serif"
   style:font-name-complex="Liberation Serif" fo:hyphenate="false"/>
 </style:default-style>
 <style:style style:name="Standard" style:family="paragraph" style:class="text"/>
</office:styles>
<office:automatic-styles>
 <style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="210mm"
  fo:page-height="297mm" style:print-orientation="portrait" fo:margin-top="{top}mm"
  fo:margin-bottom="{bottom}mm" fo:margin-left="{left}mm" fo:margin-right="{right}mm"/>
 </style:page-layout>
 <style:style style:name="TCell" style:family="table-cell"><style:table-cell-properties
  fo:padding="0mm" fo:border="none"/></style:style>
 {tables}
 {styles}
</office:automatic-styles>
<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1"/>
</office:master-styles>
<office:body><office:text>
{chr(10).join(body)}
</office:text></office:body></office:document>
"""
    path.write_text(doc, encoding="utf-8")
    return dict(margins=margins, split=(left + left_col) * MM, x1=PAGE_W - right * MM)


def libreoffice_pdf(fodt: Path, out_pdf: Path, tmp: Path) -> str | None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        return None
    fc = tmp / "fonts.conf"  # only Liberation 2 visible: LibreOffice cannot pick 1.x
    fc.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{FONT_DIR}</dir><cachedir>{tmp / 'fc-cache'}</cachedir></fontconfig>
""")
    env = dict(os.environ, FONTCONFIG_FILE=str(fc), HOME=str(tmp), SAL_USE_VCLPLUGIN="svp")
    outdir = tmp / "lo-out"
    outdir.mkdir(exist_ok=True)
    run([soffice, f"-env:UserInstallation=file://{tmp / 'lo-profile'}", "--headless",
         "--norestore", "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(outdir),
         str(fodt)], env=env, timeout=300)
    shutil.move(outdir / (fodt.stem + ".pdf"), out_pdf)
    return run([soffice, "--version"], env=env).stdout.strip()


# ----------------------------------------------------------------------------- pdftotext


def pdftotext_words(pdf: Path):
    """[(page, xMin, yMin, xMax, yMax, text)] with pdftotext's top-left coordinates."""
    out = run(["pdftotext", "-bbox", str(pdf), "-"]).stdout
    words, page, sizes = [], 0, {}
    for m in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">|<word xMin="([\d.]+)" '
                         r'yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', out):
        if m.group(1):
            page += 1
            sizes[page] = (float(m.group(1)), float(m.group(2)))
        else:
            words.append((page, *(float(m.group(i)) for i in range(3, 7)),
                          html.unescape(m.group(7))))
    return words, sizes


def find_phrase(words, phrase, page=None):
    """Locate `phrase` as consecutive words on one text row; returns (page, bbox top-left)."""
    toks = nfc(phrase).split()
    hits = []
    for i, w in enumerate(words):
        if w[5] != toks[0] or (page and w[0] != page):
            continue
        seq = [w]
        for t in toks[1:]:
            prev = seq[-1]
            nxt = [v for v in words if v[0] == prev[0] and v[5] == t
                   and abs(v[4] - prev[4]) < 0.6 and 0 <= v[1] - prev[3] < 12]
            if not nxt:
                break
            seq.append(min(nxt, key=lambda v: v[1] - prev[3]))
        if len(seq) == len(toks):
            hits.append((seq[0][0], (min(v[1] for v in seq), min(v[2] for v in seq),
                                     max(v[3] for v in seq), max(v[4] for v in seq))))
    return hits


def text_runs(pdf: Path, page_no: int):
    """[(x, baseline, size, text)] for each text-showing run, read by pypdf (independent of
    poppler): the origin of the run's text space in page space."""
    runs = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            runs.append((x, y, font_size * math.hypot(tm[0], tm[1]) * math.hypot(cm[0], cm[1]),
                         nfc(text)))

    pypdf.PdfReader(str(pdf)).pages[page_no - 1].extract_text(visitor_text=visit)
    return runs


def measure_lo(pdf: Path, geo: dict) -> dict:
    """LibreOffice laid this file out: find the signer block in its output.  Boxes come from
    pdftotext -bbox; baselines from pypdf's text matrices (LibreOffice 7.4 writes /Ascent 0
    /Descent 0 in its FontDescriptors, so poppler falls back to 0.95 / -0.35 em boxes)."""
    words, sizes = pdftotext_words(pdf)
    pages = len(sizes)
    marks = {}
    for key, phrase, size in [("authority_1", CV_AUTHORITY[0], 14),
                              ("authority_2", CV_AUTHORITY[1], 14),
                              ("signer_name", SIGNERS["hung"]["name"], 14),
                              ("number", CV_NUMBER, 13), ("place_date", CV_DATE, 14)]:
        hits = find_phrase(words, phrase)
        assert len(hits) == 1, (phrase, hits)
        pg, (xa, ya, xb, yb) = hits[0]
        H = sizes[pg][1]
        bb = (xa, H - yb, xb, H - ya)
        first = nfc(phrase).split()[0]
        runs = [r for r in text_runs(pdf, pg) if r[3].split()[0] == first
                and abs(r[0] - xa) < 1.0 and bb[1] < r[1] < bb[3]]
        assert len(runs) == 1, (phrase, runs)
        assert abs(runs[0][2] - size) < 0.01, (phrase, runs[0])
        marks[key] = dict(page=pg, text=nfc(phrase), bbox=bb, baseline=runs[0][1], size=size,
                          font="LiberationSerif-Bold" if size == 14 and key != "place_date"
                          else ("LiberationSerif-Italic" if key == "place_date"
                                else "LiberationSerif"))
    a2, nm = marks["authority_2"], marks["signer_name"]
    marks["signature_area"] = dict(page=nm["page"], bbox=(
        geo["split"], nm["baseline"] + INK_ASC * 14, geo["x1"], a2["baseline"] - INK_DESC * 14))
    return dict(marks=marks, pages=pages)


# ----------------------------------------------------------------------------- checks


class Checks:
    def __init__(self):
        self.failures: list[str] = []
        self.count = 0

    def ok(self, cond, msg):
        self.count += 1
        if not cond:
            self.failures.append(msg)
            print("FAIL", msg)


def raster_blank(pdf: Path, page: int, bbox, page_h: float, *, dpi=100, threshold=235,
                 inset=1.5) -> tuple[bool, int]:
    """True when every pixel inside bbox (PDF coords, inset by `inset` pt) is light."""
    with tempfile.TemporaryDirectory() as td:
        run(["pdftoppm", "-r", str(dpi), "-gray", "-f", str(page), "-l", str(page),
             "-singlefile", "-png", str(pdf), f"{td}/p"])
        img = Image.open(f"{td}/p.png").convert("L")
        s = dpi / 72
        x0, y0, x1, y1 = bbox
        crop = img.crop((math.ceil((x0 + inset) * s), math.ceil((page_h - y1 + inset) * s),
                         math.floor((x1 - inset) * s), math.floor((page_h - y0 - inset) * s)))
        lo = crop.getextrema()[0]
        return lo >= threshold, lo


def verify_lines(ck: Checks, name: str, pdf: Path, lines: list[dict], tol=0.5):
    words, sizes = pdftotext_words(pdf)
    for w in words:
        ck.ok(unicodedata.is_normalized("NFC", w[5]), f"{name}: word not NFC: {w[5]!r}")
    for rec in lines:
        H = sizes[rec["page"]][1]
        x0, y0, x1, y1 = rec["bbox"]
        ta, tb = H - y1, H - y0  # top-left coordinates
        inside = [w for w in words if w[0] == rec["page"]
                  and x0 - 1 <= (w[1] + w[3]) / 2 <= x1 + 1
                  and ta - 1 <= (w[2] + w[4]) / 2 <= tb + 1]
        inside.sort(key=lambda w: w[1])
        got = " ".join(w[5] for w in inside)
        if got != rec["text"]:
            ck.ok(False, f"{name} p{rec['page']}: expected {rec['text']!r}, pdftotext {got!r}")
            continue
        ub = (min(w[1] for w in inside), min(w[2] for w in inside),
              max(w[3] for w in inside), max(w[4] for w in inside))
        diff = max(abs(ub[0] - x0), abs(ub[1] - ta), abs(ub[2] - x1), abs(ub[3] - tb))
        ck.ok(diff <= tol, f"{name} p{rec['page']}: {rec['text']!r} bbox off by {diff:.3f} pt")
    return words, sizes


def no_words_in(ck, name, words, sizes, page, bbox):
    H = sizes[page][1]
    x0, y0, x1, y1 = bbox
    hit = [w[5] for w in words if w[0] == page and w[1] < x1 and w[3] > x0
           and w[2] < H - y0 and w[4] > H - y1]
    ck.ok(not hit, f"{name}: words inside blank region {bbox}: {hit}")


def no_runs_in(ck, name, pdf, page, bbox):
    """No text run starts inside the region's columns with its ink band (baseline - 0.225 em
    .. baseline + 0.92 em) overlapping the region vertically (pypdf text matrices)."""
    x0, y0, x1, y1 = bbox
    hit = [r[3] for r in text_runs(pdf, page) if x0 - 0.5 <= r[0] <= x1
           and r[1] - INK_DESC * r[2] < y1 - 0.05 and r[1] + INK_ASC * r[2] > y0 + 0.05]
    ck.ok(not hit, f"{name}: text runs inside blank region {bbox}: {hit}")


def pdf_facts(pdf: Path) -> dict:
    r = pypdf.PdfReader(str(pdf))
    head = pdf.read_bytes()[:8].decode("latin-1")
    info = r.metadata or {}
    fonts = run(["pdffonts", str(pdf)]).stdout.splitlines()[2:]
    mb = r.pages[0].mediabox
    return dict(pages=len(r.pages), version=head[5:8], producer=str(info.get("/Producer", "")),
                creator=str(info.get("/Creator", "")), fonts=fonts,
                page_size=(float(mb.width), float(mb.height)), bytes=pdf.stat().st_size)


# ----------------------------------------------------------------------------- build


def build() -> None:
    register_fonts()
    DOCS.mkdir(parents=True, exist_ok=True)
    make_images()
    manifest: dict = {}
    sheets = {
        "quyet-dinh.pdf": ("Quyết định (decision), 15/QĐ-STTTT", doc_quyet_dinh),
        "cong-van.pdf": ("Công văn (official letter), 123/STTTT-VP, no type-name line, "
                         "trích yếu \"V/v ...\" under the number", doc_cong_van),
        "giay-moi.pdf": ("Giấy mời (invitation), 16/GM-STTTT; agency name on two lines", doc_giay_moi),
        "bao-cao.pdf": ("Báo cáo (report), 45/BC-STTTT, 3 pages with a table; signer on page 3",
                        doc_bao_cao),
        "thong-bao-lich-lam-viec.pdf": ("Thông báo (notice) 18/TB-STTTT: the leaders' weekly "
                                        "schedule as a table that breaks across pages",
                                        doc_thong_bao),
        "phu-luc.pdf": ("Phụ lục (appendix) as a separate file, \"Kèm theo Quyết định số "
                        "15/QĐ-STTTT\"; no signer block (the agency signs it invisibly)",
                        doc_phu_luc),
    }
    rl = f"ReportLab {reportlab.Version} (canvas)"
    for fname, (what, fn) in sheets.items():
        s = fn(DOCS / fname)
        manifest[fname] = dict(what=what, producer=rl, margins_mm=s.margins, marks=s.marks,
                               lines=s.lines, pages=s.page)
    # qpdf re-writes of the decision: same page content, different file structure
    for fname, args, what in [
        ("quyet-dinh-linearized.pdf", ["--linearize"],
         "quyet-dinh.pdf linearized (\"fast web view\") by qpdf"),
        ("quyet-dinh-objstm.pdf", ["--object-streams=generate", "--compress-streams=y"],
         "quyet-dinh.pdf with object streams and a cross-reference stream (PDF 1.5) by qpdf"),
    ]:
        run(["qpdf", "--deterministic-id", *args, str(DOCS / "quyet-dinh.pdf"), str(DOCS / fname)])
        qv = run(["qpdf", "--version"]).stdout.splitlines()[0]
        manifest[fname] = dict(manifest["quyet-dinh.pdf"], what=what,
                               producer=f"{qv} over the ReportLab file (Info /Producer unchanged)")
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        scan = make_scan(DOCS / "ban-sao-scan.pdf", tmp)
        manifest["ban-sao-scan.pdf"] = dict(
            what="Scan of a paper Quyết định 09/QĐ-STTTT (wet-ink blue signature + red seal) as "
                 "an image-only page, 200 dpi colour JPEG: input for the electronic-copy "
                 "(bản sao điện tử, SAO Y) role",
            producer=f"Pillow {PIL_VERSION} (one DCTDecode image per page, no text); the page "
                     f"image was rendered by pdftoppm at 200 dpi from a ReportLab page",
            margins_mm=scan["sheet"].margins, marks=scan["marks"], lines=[], pages=1,
            pixels=scan["pixels"])
        fodt = DOCS / "cong-van-libreoffice.fodt"
        geo = fodt_cong_van(fodt)
        lo = libreoffice_pdf(fodt, DOCS / "cong-van-libreoffice.pdf", tmp)
        if lo:
            m = measure_lo(DOCS / "cong-van-libreoffice.pdf", geo)
            manifest["cong-van-libreoffice.pdf"] = dict(
                what="The same Công văn laid out by LibreOffice Writer from "
                     "cong-van-libreoffice.fodt (tables for header and signer block)",
                producer=f"{lo} (Writer, writer_pdf_Export)",
                margins_mm=dict(zip(("top", "bottom", "left", "right"), geo["margins"])),
                marks=m["marks"], lines=[], pages=m["pages"], measured=True)
        else:
            print("soffice not found: cong-van-libreoffice.pdf skipped")
    (DOCS / "layout.json").write_text(json.dumps(layout_json(manifest), ensure_ascii=False,
                                                 indent=1) + "\n", encoding="utf-8")


def layout_json(manifest: dict) -> dict:
    keep = ("authority_1", "authority_2", "signature_area", "signer_name", "info_region",
            "number", "place_date", "type_name", "wet_signature", "seal")
    order = ["quyet-dinh.pdf", "quyet-dinh-linearized.pdf", "quyet-dinh-objstm.pdf",
             "cong-van.pdf", "cong-van-libreoffice.pdf", "giay-moi.pdf", "bao-cao.pdf",
             "thong-bao-lich-lam-viec.pdf", "phu-luc.pdf", "ban-sao-scan.pdf"]
    docs = {}
    for fname, m in sorted(manifest.items(),
                           key=lambda kv: order.index(kv[0]) if kv[0] in order else 99):
        marks = {}
        for k in keep:
            if k in m["marks"]:
                v = m["marks"][k]
                marks[k] = {kk: (box(vv) if kk == "bbox"
                                 else (r2(vv) if isinstance(vv, float) else vv))
                            for kk, vv in v.items()
                            if kk in ("page", "text", "bbox", "baseline", "size", "font", "note")}
        docs[fname] = dict(what=m["what"], producer=m["producer"], pages=m["pages"],
                           margins_mm=m["margins_mm"], measured_from_output=m.get("measured", False),
                           marks=marks, lines=[dict(page=l["page"], text=l["text"],
                                                    bbox=box(l["bbox"]), baseline=r2(l["baseline"]),
                                                    size=l["size"], font=l["font"])
                                               for l in m["lines"]])
    return dict(
        coordinates="PDF user space in points (1/72 in), origin at the bottom-left corner of "
                    "the MediaBox; boxes are [x0, y0, x1, y1]. pdftotext -bbox uses a top-left "
                    "origin: yMin = page_height - y1, yMax = page_height - y0.",
        line_bbox="advance width x (font-descriptor descent .. ascent) around the baseline, "
                  "as pdftotext -bbox reports it",
        signature_area=f"between the last authority line and the signer-name line, across the "
                       f"signer column; its top is {INK_DESC} em below the authority baseline and "
                       f"its bottom {INK_ASC} em above the name baseline (ink extent of every "
                       f"Vietnamese letter in Liberation Serif 2), so no glyph reaches into it",
        documents=docs)


# ----------------------------------------------------------------------------- verify + README


def verify_and_document() -> int:
    register_fonts()
    layout = json.loads((DOCS / "layout.json").read_text(encoding="utf-8"))
    ck = Checks()
    facts = {}
    for fname, d in layout["documents"].items():
        pdf = DOCS / fname
        f = facts[fname] = pdf_facts(pdf)
        ck.ok(f["pages"] == d["pages"], f"{fname}: {f['pages']} pages, layout says {d['pages']}")
        q = subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True)
        ck.ok(q.returncode == 0, f"{fname}: qpdf --check failed: {q.stdout[-300:]}")
        for line in f["fonts"]:
            ck.ok("LiberationSerif" in line.split()[0] and " yes " in line,
                  f"{fname}: unexpected or unembedded font: {line}")
        lines = [dict(l, bbox=tuple(l["bbox"])) for l in d["lines"]]
        words, sizes = verify_lines(ck, fname, pdf, lines)
        text = run(["pdftotext", str(pdf), "-"]).stdout
        ck.ok(unicodedata.is_normalized("NFC", text), f"{fname}: extracted text not NFC")
        marks = d["marks"]
        if fname == "ban-sao-scan.pdf":
            ck.ok(not words and not f["fonts"], f"{fname}: should be image-only")
            imgs = run(["pdfimages", "-list", str(pdf)]).stdout.splitlines()[2:]
            ck.ok(len(imgs) == 1 and " rgb " in imgs[0] and " jpeg " in imgs[0]
                  and " 200 " in imgs[0], f"{fname}: expected one 200 dpi RGB JPEG: {imgs}")
        else:
            for k in ("authority_1", "authority_2", "signer_name"):
                if k in marks:  # text marks checked by phrase too (LibreOffice file has no lines)
                    hits = find_phrase(words, marks[k]["text"])
                    H = sizes[marks[k]["page"]][1]
                    exp = marks[k]["bbox"]
                    good = [h for h in hits if h[0] == marks[k]["page"] and max(
                        abs(h[1][0] - exp[0]), abs(H - h[1][3] - exp[1]), abs(h[1][2] - exp[2]),
                        abs(H - h[1][1] - exp[3])) <= 0.5]
                    ck.ok(len(good) == 1, f"{fname}: {marks[k]['text']!r} not found at {exp}")
        for k in ("signature_area", "info_region"):
            if k in marks:
                m = marks[k]
                H = f["page_size"][1]
                if fname != "ban-sao-scan.pdf":
                    no_runs_in(ck, f"{fname} {k}", pdf, m["page"], m["bbox"])
                if fname not in ("ban-sao-scan.pdf", "cong-van-libreoffice.pdf"):
                    # LibreOffice's zero /Ascent /Descent make poppler's boxes 1.3 em tall,
                    # so for that file the pypdf and raster checks stand in for this one
                    no_words_in(ck, f"{fname} {k}", words, sizes, m["page"], m["bbox"])
                if fname == "ban-sao-scan.pdf" and k == "signature_area":
                    continue  # the scan carries a wet-ink signature there
                blank, lo = raster_blank(pdf, m["page"], m["bbox"], H,
                                         threshold=200 if fname == "ban-sao-scan.pdf" else 250)
                ck.ok(blank, f"{fname}: {k} not blank in raster (darkest {lo})")
        if "signature_area" in marks and fname != "ban-sao-scan.pdf":
            h_mm = (marks["signature_area"]["bbox"][3] - marks["signature_area"]["bbox"][1]) / MM
            ck.ok(25 <= h_mm <= 30.5, f"{fname}: blank signature area {h_mm:.1f} mm high")
    expected_pages = {"quyet-dinh.pdf": 1, "bao-cao.pdf": 3, "ban-sao-scan.pdf": 1}
    for fname, n in expected_pages.items():
        ck.ok(facts[fname]["pages"] == n, f"{fname}: expected {n} pages")
    for fname in ("bao-cao.pdf",):
        ck.ok(layout["documents"][fname]["marks"]["signer_name"]["page"] == 3,
              f"{fname}: signer not on page 3")
    imgs = check_images(ck)
    write_readme(layout, facts, imgs)
    ours = [Path(__file__).resolve(), *DOCS.rglob("*"), *IMGS.rglob("*")]
    total = sum(p.stat().st_size for p in ours if p.is_file())
    ck.ok(total < 5 * 1024 * 1024, f"documents + images + script are {total} bytes (limit 5 MB)")
    print(f"{ck.count} checks, {len(ck.failures)} failed; documents + images + script "
          f"{total / 1024:.0f} KiB")
    return 1 if ck.failures else 0


def check_images(ck: Checks) -> dict:
    out = {}
    for p in sorted(IMGS.glob("*.png")):
        im = Image.open(p)
        dpi = im.info.get("dpi", (0, 0))
        w_mm, h_mm = im.width / dpi[0] * 25.4, im.height / dpi[1] * 25.4
        px = im.convert("RGBA")
        corners = [px.getpixel(xy)[3] for xy in ((0, 0), (im.width - 1, 0), (0, im.height - 1),
                                                 (im.width - 1, im.height - 1))]
        ck.ok(im.mode == "RGBA" and round(dpi[0]) == 300 and max(corners) == 0,
              f"{p.name}: mode {im.mode}, dpi {dpi}, corner alpha {corners}")
        opaque = [px.getpixel((x, y))[:3] for x in range(0, im.width, 3)
                  for y in range(0, im.height, 3) if px.getpixel((x, y))[3] > 128]
        r = sum(c[0] for c in opaque) / len(opaque)
        b = sum(c[2] for c in opaque) / len(opaque)
        if p.name.startswith("seal"):
            ck.ok(r > 150 and b < 80 and abs(w_mm - 36) < 0.1, f"{p.name}: not a 36 mm red seal")
        else:
            ck.ok(b > 120 and r < 60 and abs(w_mm - 50) < 0.2 and abs(h_mm - 20) < 0.2,
                  f"{p.name}: not a 50x20 mm blue signature")
        out[p.name] = dict(px=(im.width, im.height), dpi=dpi, mm=(w_mm, h_mm),
                           bytes=p.stat().st_size)
    return out


def fmt_box(b) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in b) + "]"


def write_readme(layout: dict, facts: dict, imgs: dict) -> None:
    docs = layout["documents"]
    L = []
    a = L.append
    a("# kyso test documents (generated, our own data)\n")
    a("Synthetic Vietnamese administrative documents for testing visible-signature placement "
      "(finding the signer block by its text), Vietnamese text handling and PDFs from different "
      "producers. Everything (agency, people, numbers, dates, signatures, seal) is made up by "
      "`testdata/make_testdata.py`; nothing is copied from elsewhere (see *Provenance and "
      "licence* below). Regenerate and re-verify from the repository root with:\n")
    a("```sh\npython3 testdata/make_testdata.py          # build + verify\n"
      "python3 testdata/make_testdata.py --check  # verify only (rewrites this README)\n```\n")
    a("(or `cd testdata && python3 make_testdata.py`: the script writes beside itself, "
      "wherever it is run from). The tests measure exact positions in these files: rebuild "
      "only when the generator changed on purpose, then run the tests that read them.\n")
    a("Needs reportlab, pillow, pypdf; Debian `fonts-liberation2` (Liberation Serif 2, Times "
      "New Roman metrics, every Vietnamese letter: **not** `fonts-liberation` 1.x, which lacks "
      "ạ ậ ế ệ ộ ợ ủ ữ ự ỵ ỹ), `poppler-utils`, `qpdf`, and `libreoffice-writer-nogui` for the "
      "LibreOffice file. ReportLab runs in invariant mode, so its files are byte-for-byte "
      "reproducible; the LibreOffice file is not (dates, IDs).\n")
    a("Layout follows Decree 30/2020/NĐ-CP App. I: A4 portrait; agency (parent above) top-left "
      "and national title + motto top-right, each with its rule; `Số:` and the italic place/date "
      "line on one row; type name + trích yếu; body 14 pt justified with a 10 mm first-line "
      "indent; signer block at the bottom right (authority 14 pt bold, ~28 mm blank, name 14 pt "
      "bold); `Nơi nhận:` (12 pt bold italic) with an 11 pt list ending `- Lưu: VT, VP.` at the "
      "bottom left; page numbers (13 pt) centred in the top margin from page 2. All text is NFC "
      "and every check below confirms pdftotext extracts NFC text.\n")
    a("## Files\n")
    a("| File | What | Producer | PDF | Pages | Margins T/B/L/R mm | Size |")
    a("|---|---|---|---|---|---|---|")
    for fname, d in docs.items():
        f = facts[fname]
        mg = d["margins_mm"]
        a(f"| `{fname}` | {d['what']} | {d['producer']} | {f['version']} | {f['pages']} | "
          f"{mg['top']}/{mg['bottom']}/{mg['left']}/{mg['right']} | {f['bytes'] / 1024:.0f} KiB |")
    fodt = DOCS / "cong-van-libreoffice.fodt"
    if fodt.exists():
        a(f"| `cong-van-libreoffice.fodt` | Flat ODF source of `cong-van-libreoffice.pdf` "
          f"(LibreOffice converts it with only Liberation 2 visible to fontconfig) | "
          f"make_testdata.py | – | – | 20/20/30/15 | {fodt.stat().st_size / 1024:.0f} KiB |")
    a(f"| `layout.json` | Every position below plus every text line of the ReportLab files "
      f"(text, page, bbox, baseline, font, size), for tests to load | make_testdata.py | – | – "
      f"| – | {(DOCS / 'layout.json').stat().st_size / 1024:.0f} KiB |")
    a("")
    a("Page size is A4, 595.28 × 841.89 pt, except `ban-sao-scan.pdf`: "
      f"{facts['ban-sao-scan.pdf']['page_size'][0]:.2f} × "
      f"{facts['ban-sao-scan.pdf']['page_size'][1]:.2f} pt, the size of its 1654 × 2339 px "
      "image at 200 dpi (as a scanner writes it).\n")
    a("## Positions\n")
    a("Coordinates: PDF user space in points, origin at the **bottom-left** of the page, boxes "
      "`[x0, y0, x1, y1]`. `pdftotext -bbox` uses a top-left origin: `yMin = page_height − y1`, "
      "`yMax = page_height − y0`.\n")
    a("- **Text line boxes** are what `pdftotext -bbox` reports: advance width × (font descriptor "
      "descent … ascent) around the baseline. For the ReportLab files they are computed by the "
      "generator while it draws (ascent 0.693 em regular / 0.677 em bold, descent 0.216 em, as "
      "ReportLab writes them into the FontDescriptor) and then checked against `pdftotext -bbox` "
      "(every line of every ReportLab page, tolerance 0.5 pt). The LibreOffice file is laid out "
      "by LibreOffice, so its positions are measured from its output: boxes with `pdftotext "
      "-bbox`, baselines from the text matrices read with pypdf (an independent parser). "
      "LibreOffice 7.4 writes `/Ascent 0 /Descent 0` in its FontDescriptors, so poppler falls "
      "back to 0.95 / 0.35 em and its boxes are 1.3 em tall; use the baselines there.")
    a(f"- **Signature area** (the blank space for the signer's image, Decree 30 box 7c): spans "
      f"the signer column (the header's right column) horizontally; vertically from "
      f"{INK_ASC} em above the name baseline to {INK_DESC} em below the last authority baseline, "
      f"i.e. beyond the ink of any Vietnamese letter of Liberation Serif 2 (highest `Ẵ` 0.915 "
      f"em, lowest `g` 0.221 em). Checked: no text run (pypdf) and, except in the LibreOffice "
      f"file, no pdftotext word box intersects it, and a 100 dpi raster of it is white. It is "
      f"28.00 mm high (79.37 pt) in every file.")
    a("- **Info region** (appendix and e-copy): an empty box at the top right of page 1 where "
      "Decree 30 puts the agency-signature information line (10 pt, black: number/notation or "
      "copy form, agency, signing time). Checked empty the same way.\n")
    a("## What differs inside, by producer\n")
    a("- **ReportLab** (`quyet-dinh`, `cong-van`, `giay-moi`, `bao-cao`, `thong-bao-lich-lam-viec`, "
      "`phu-luc`): PDF 1.3, classic xref table, Flate-compressed page streams; fonts are simple "
      "TrueType subsets (`AAAAAA+LiberationSerif…`) with 1-byte codes: ASCII keeps its own "
      "codes, each Vietnamese letter gets a low code, and a ToUnicode CMap maps them back. Each "
      "header line, title line, table-cell line and signer-block line (authority, name, "
      "`Nơi nhận`) is one `BT … Tj … ET`, so `KT. GIÁM ĐỐC` is a single string; justified body "
      "lines are drawn word by word (one `BT…ET` per word). Catalog `/Lang (vi-VN)`.")
    a("- **LibreOffice** (`cong-van-libreoffice`): PDF 1.6; simple TrueType subsets with custom "
      "1-byte glyph codes (no ASCII identity: text is unreadable without ToUnicode), one `TJ` "
      "array per line with kerning adjustments, spaces drawn as a glyph; FontDescriptor "
      "`/Ascent 0 /Descent 0`. The header and the signer block are borderless tables, and "
      "LibreOffice breaks the V/v line differently from ReportLab.")
    a("- **qpdf** (`quyet-dinh-linearized`: linearization dictionary, hint stream, first-page "
      "objects first; `quyet-dinh-objstm`: PDF 1.5 with objects inside object streams and a "
      "cross-reference stream instead of an xref table). Page content and Info are unchanged.")
    a("- **Pillow** (`ban-sao-scan`): PDF 1.4 with one page whose content draws one DCTDecode "
      "RGB image (1654 × 2339 px, 200 dpi); no fonts, no text. The paper look (tone, blur, "
      "noise) is simulated; the page is not skewed, so the positions stay exact.\n")
    rows = [("authority_1", "Authority line 1"), ("authority_2", "Authority line 2"),
            ("signature_area", "Blank signature area"), ("signer_name", "Signer name line"),
            ("info_region", "Info-line region (top right)")]
    for fname, d in docs.items():
        m = d["marks"]
        a(f"### `{fname}`\n")
        if fname in ("quyet-dinh-linearized.pdf", "quyet-dinh-objstm.pdf"):
            a("Same page content as `quyet-dinh.pdf`; positions identical (re-verified on this "
              "file).\n")
        if fname == "ban-sao-scan.pdf":
            a("Image only: no text, so nothing here is found by text search. Positions come from "
              "the generator's vector page, which was rasterised 1:1 (pixel (0,0) = top-left "
              "corner) and are shifted by the page-height difference. The authority / name "
              "lines and the signature area are given for reference only; the wet-ink signature "
              "and seal lie over them.\n")
        a("| Part | Page | Text | BBox [x0, y0, x1, y1] pt | Baseline |")
        a("|---|---|---|---|---|")
        for k, label in rows:
            if k in m:
                v = m[k]
                base = v.get("baseline")
                a(f"| {label} | {v['page']} | {v.get('text', v.get('note', '–'))} | "
                  f"{fmt_box(v['bbox'])} | {'–' if base is None else f'{base:.2f}'} |")
        for k, label in (("wet_signature", "Wet-ink signature image (50×20 mm)"),
                         ("seal", "Seal image (36 mm)")):
            if k in m:
                a(f"| {label} | {m[k]['page']} | – | {fmt_box(m[k]['bbox'])} | – |")
        if "signature_area" in m and "authority_1" in m:
            sa = m["signature_area"]["bbox"]
            a(f"\nSignature area: {(sa[2] - sa[0]) / MM:.1f} × {(sa[3] - sa[1]) / MM:.1f} mm, "
              f"centre ({(sa[0] + sa[2]) / 2:.2f}, {(sa[1] + sa[3]) / 2:.2f}).")
        a("")
    a("## Images (`../images/`)\n")
    a("PNG, RGBA with a transparent background, `pHYs` = 11811 px/m (300 dpi), so the physical "
      "size below is what a viewer or PDF writer computes.\n")
    a("| File | What | Pixels | Physical size | Size |")
    a("|---|---|---|---|---|")
    what = {"signature-blue.png": "Blue handwritten-style signature of Nguyễn Văn Hùng "
                                  "(Phó Giám đốc; quyet-dinh, cong-van)",
            "signature-blue-2.png": "Blue signature of a second signer, Trần Thị Mai (Giám đốc; "
                                    "giay-moi, bao-cao, the scanned original)",
            "signature-blue-3.png": "Blue signature of a third signer, Lê Thị Thu Hà (Chánh Văn "
                                    "phòng; thong-bao-lich-lam-viec)",
            "seal-red.png": "Round red agency seal at real size: double outer border, ring text "
                            "\"SỞ THÔNG TIN VÀ TRUYỀN THÔNG\" over ~290°, small star closing "
                            "the ring, inner circle with a centre star and \"TP. CẦN THƠ\""}
    order = ["signature-blue.png", "signature-blue-2.png", "signature-blue-3.png", "seal-red.png"]
    for n, i in sorted(imgs.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 9):
        a(f"| `{n}` | {what.get(n, '')} | {i['px'][0]} × {i['px'][1]} | {i['mm'][0]:.2f} × "
          f"{i['mm'][1]:.2f} mm | {i['bytes'] / 1024:.0f} KiB |")
    a("\n36 mm at 300 dpi is 425.2 px; the seal is 425 px, i.e. 35.98 mm as its pHYs says.\n")
    a("Per Decree 30 App. I §II.7–8: place the signer's image centred in the signature area "
      "and the seal at real size (36 mm) over about the left third of the signer's image.\n")
    a("## Provenance and licence\n")
    a("Our own synthetic data. The documents, their numbers, dates and text, the people, the "
      "handwritten-style signatures and the seal were all invented and drawn by "
      "`testdata/make_testdata.py` (the agency is named after a kind of department every "
      "province has; these are not its documents and the seal is not its seal). The script and "
      "everything it writes are part of kyso and licensed like it: MIT OR Apache-2.0. The PDFs "
      "embed subsets of Liberation Serif 2 (SIL Open Font Licence 1.1, which allows embedding); "
      "the scanned page `ban-sao-scan.pdf` is a raster of a page the script drew itself.\n")
    (DOCS / "README.md").write_text("\n".join(L), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="verify existing outputs only")
    args = ap.parse_args()
    if not args.check:
        build()
    return verify_and_document()


if __name__ == "__main__":
    sys.exit(main())
