// The verification page, enhanced: the form still works without this script (the server
// renders the report); with it, the file is sent in the background with progress shown,
// the report (rendered by the server, the same HTML) replaces the old one, and a PDF's
// pages are drawn beside it with pdf.js (vendored in static/vendor/pdfjs) — each visible
// signature's rectangle outlined and numbered as in the signature panel, from the
// report's data-page / data-rect. Nothing leaves the browser but the upload itself.
import { drawPages } from "/static/trang.js";

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
      await drawPages(new Uint8Array(await file.arrayBuffer()), pages);
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
