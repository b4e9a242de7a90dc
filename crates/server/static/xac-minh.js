// The verification page, enhanced: the form still works without this script (the server
// renders the report); with it, the file is sent in the background with progress shown,
// the report (rendered by the server, the same HTML) replaces the old one, and a PDF's
// pages are drawn beside it with pdf.js (vendored in static/vendor/pdfjs) — each visible
// signature's rectangle outlined and numbered as in the signature panel, from the
// report's data-page / data-rect. Nothing leaves the browser but the upload itself.
import * as pdfjs from "/static/pdfjs/pdf.min.mjs";

pdfjs.GlobalWorkerOptions.workerSrc = "/static/pdfjs/pdf.worker.min.mjs";

const form = document.getElementById("bieu-mau");
const progress = document.getElementById("tien-trinh");
const pages = document.getElementById("trang-van-ban");

function say(text) {
  progress.textContent = text;
}

async function isPdf(file) {
  const head = new Uint8Array(await file.slice(0, 1024).arrayBuffer());
  const text = String.fromCharCode(...head);
  return text.includes("%PDF-");
}

function upload(data) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) {
        say(`Đang gửi tệp: ${Math.round((e.loaded / e.total) * 100)}%`);
      }
    };
    xhr.upload.onload = () => say("Đang kiểm tra chữ ký…");
    xhr.onload = () => resolve(xhr.responseText);
    xhr.onerror = () => reject(new Error("không kết nối được máy chủ"));
    xhr.send(data);
  });
}

async function drawPages(file) {
  pages.replaceChildren();
  const signatures = [...document.querySelectorAll("[data-rect]")].map((el) => ({
    number: el.dataset.number,
    page: Number(el.dataset.page),
    rect: el.dataset.rect.split(" ").map(Number),
  }));
  const bytes = new Uint8Array(await file.arrayBuffer());
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

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = document.getElementById("file").files[0];
  if (!file) return;
  const button = form.querySelector("button");
  button.disabled = true;
  say("Đang gửi tệp…");
  const pdf = await isPdf(file);
  try {
    const html = await upload(new FormData(form));
    const fresh = new DOMParser().parseFromString(html, "text/html");
    for (const id of ["ket-qua-kiem-tra", "loi-kiem-tra"]) {
      const old = document.getElementById(id);
      if (old) old.remove();
    }
    const anchor = pages;
    for (const id of ["loi-kiem-tra", "ket-qua-kiem-tra"]) {
      const part = fresh.getElementById(id);
      if (part) anchor.before(document.importNode(part, true));
    }
    // The progress line is cleared only when everything is drawn (tests wait for it).
    if (document.getElementById("ket-qua-kiem-tra") && pdf) {
      say("Đang hiển thị văn bản…");
      await drawPages(file);
    } else {
      pages.replaceChildren();
    }
    say("");
    const result = document.getElementById("ket-qua-kiem-tra") || document.getElementById("loi-kiem-tra");
    if (result) result.focus();
  } catch (e) {
    say(`Không kiểm tra được: ${e.message}`);
  } finally {
    button.disabled = false;
  }
});
