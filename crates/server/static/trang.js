// Draws a PDF's pages with pdf.js (vendored in static/vendor/pdfjs) into a container,
// each visible signature's rectangle outlined and numbered as in the signature panel (the
// panel's elements carry data-number / data-page / data-rect from the verification
// report), and adds to each panel entry a link to its rectangle, as a reader of a
// signature panel expects. Shared by the verification page and the document page.
import * as pdfjs from "/static/pdfjs/pdf.min.mjs";

pdfjs.GlobalWorkerOptions.workerSrc = "/static/pdfjs/pdf.worker.min.mjs";

export async function drawPages(bytes, pages) {
  pages.replaceChildren();
  const signatures = [...document.querySelectorAll("[data-rect]")].map((el) => ({
    number: el.dataset.number,
    page: Number(el.dataset.page),
    rect: el.dataset.rect.split(" ").map(Number),
  }));
  const doc = await pdfjs.getDocument({ data: bytes, isEvalSupported: false }).promise;
  for (let n = 1; n <= doc.numPages; n++) {
    const page = await doc.getPage(n);
    const viewport = page.getViewport({ scale: 1.25 });
    const figure = document.createElement("figure");
    figure.className = "trang";
    const canvas = document.createElement("canvas");
    canvas.width = Math.ceil(viewport.width);
    canvas.height = Math.ceil(viewport.height);
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", `Trang ${n} của văn bản`);
    figure.append(canvas);
    await page.render({ canvasContext: canvas.getContext("2d"), viewport, canvas }).promise;
    for (const s of signatures.filter((s) => s.page === n)) {
      const [x0, y0, x1, y1] = viewport.convertToViewportRectangle(s.rect);
      const box = document.createElement("div");
      box.className = "vung-chu-ky";
      box.id = `vung-chu-ky-${s.number}`;
      box.textContent = s.number;
      box.title = `Chữ ký ${s.number}`;
      box.style.left = `${(Math.min(x0, x1) / canvas.width) * 100}%`;
      box.style.top = `${(Math.min(y0, y1) / canvas.height) * 100}%`;
      box.style.width = `${(Math.abs(x1 - x0) / canvas.width) * 100}%`;
      box.style.height = `${(Math.abs(y1 - y0) / canvas.height) * 100}%`;
      figure.append(box);
    }
    const caption = document.createElement("figcaption");
    caption.textContent = `Trang ${n}/${doc.numPages}`;
    figure.append(caption);
    pages.append(figure);
  }
  // In the panel: a link to each signature's outlined rectangle, as a reader of a
  // signature panel expects.
  for (const el of document.querySelectorAll("[data-rect]")) {
    if (!document.getElementById(`vung-chu-ky-${el.dataset.number}`)) continue;
    const link = document.createElement("a");
    link.className = "xem-vi-tri";
    link.href = `#vung-chu-ky-${el.dataset.number}`;
    link.textContent = `Xem vị trí chữ ký ${el.dataset.number} trên trang ${el.dataset.page}`;
    const p = document.createElement("p");
    p.append(link);
    el.querySelector("dl").after(p);
  }
  pages.dataset.pages = String(doc.numPages);
}
