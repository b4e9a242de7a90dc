// The document page: its file's pages drawn beside the signature panel (pdf.js), when
// the file is a PDF.
import { drawPages } from "/static/trang.js";

const pages = document.getElementById("trang-van-ban");
if (pages && pages.dataset.src) {
  try {
    const response = await fetch(pages.dataset.src, { credentials: "same-origin" });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const head = String.fromCharCode(...bytes.slice(0, 1024));
    if (response.ok && head.includes("%PDF-")) {
      await drawPages(bytes, pages);
    } else {
      const note = document.createElement("p");
      note.className = "card";
      note.textContent = response.ok
        ? "Tệp không phải PDF nên không hiển thị được ở đây; hãy tải tệp về để xem. Chữ ký số của tệp (tệp .p7s đi kèm) được kiểm tra như trong bảng bên cạnh."
        : `Không tải được tệp văn bản (mã ${response.status}).`;
      pages.replaceChildren(note);
      pages.dataset.pages = "0";
    }
  } catch (e) {
    pages.textContent = `Không hiển thị được văn bản: ${e.message}`;
    pages.dataset.pages = "0";
  }
}
