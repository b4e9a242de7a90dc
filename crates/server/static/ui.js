// The staff pages' forms. Each form marked data-api="METHOD /api/v1/…" is sent to the
// JSON API (the one handler of its use case) with the session's CSRF token from the
// page's meta tag: as multipart when it has enctype="multipart/form-data" (with upload
// progress), else as JSON built from its fields (checkboxes with data-list gather into
// an array, a field with data-list-text sends its words as an array, one with data-bool
// true or false, a <select data-split="other"> whose value is "a|b" sends a, and b as
// "other"; empty fields are left out). On success the page reloads, or goes to
// data-next ("{id}" replaced by the reply's id); on failure the API's Vietnamese message
// is shown in the form. A signed-out session goes to the login page.
//
// Signing with a token on the person's own PC (.ky-qua-agent: the leader's signature, the
// agency's seal by its custodian when the device is on their PC, a party's signature of
// the handover minutes): kyso's two-step signing through kyso agent — the certificate
// from the token (GetCertInfo), the server prepares the PDF (signing-sessions), the token signs the digest (SignMsg; the PIN is
// typed on the PC, never in the page), the server assembles and verifies (signature).
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const agentPort = document.querySelector('meta[name="kyso-agent-port"]')?.content ?? "8987";

function toLogin() {
  location.href = `/dang-nhap?tiep=${encodeURIComponent(location.pathname + location.search)}`;
}

// One API call: resolves {status, body}; the upload's progress goes to onProgress(0..100).
function call(method, url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    if (!(body instanceof FormData)) xhr.setRequestHeader("Content-Type", "application/json");
    if (onProgress) {
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) onProgress(Math.round((e.loaded / e.total) * 100));
      };
    }
    xhr.onload = () => {
      let parsed = null;
      try {
        parsed = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        parsed = null;
      }
      resolve({ status: xhr.status, body: parsed });
    };
    xhr.onerror = () => reject(new Error("Không kết nối được máy chủ."));
    xhr.send(body instanceof FormData ? body : JSON.stringify(body));
  });
}

async function api(method, url, body, onProgress) {
  const r = await call(method, url, body, onProgress);
  if (r.status === 401) {
    toLogin();
    throw new Error("Phiên làm việc đã hết; hãy đăng nhập lại.");
  }
  if (r.status < 200 || r.status >= 300) {
    const message = r.body && r.body.vi ? r.body.vi : `Máy chủ trả lời mã ${r.status}.`;
    throw new Error(message);
  }
  return r.body;
}

function fields(form) {
  const json = {};
  const multipart = form.enctype === "multipart/form-data";
  const data = new FormData();
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.type === "submit" || el.type === "button") continue;
    if (el.type === "file") {
      for (const f of el.files) data.append(el.name, f, f.name);
      continue;
    }
    if (el.type === "checkbox" && "list" in el.dataset) {
      json[el.name] ??= [];
      if (el.checked) {
        json[el.name].push(el.value);
        data.append(el.name, el.value);
      }
      continue;
    }
    if (el.type === "checkbox") {
      json[el.name] = el.checked;
      if (el.checked) data.append(el.name, "true");
      continue;
    }
    if ("bool" in el.dataset) {
      json[el.name] = el.value === "true";
      data.append(el.name, el.value);
      continue;
    }
    if (el.value === "") continue;
    if ("listText" in el.dataset) {
      // Words separated by spaces, commas or dashes, as a list.
      json[el.name] = el.value.split(/[\s,-]+/).filter((w) => w);
      data.append(el.name, el.value);
      continue;
    }
    if (el.dataset.split && el.value.includes("|")) {
      const [first, second] = el.value.split("|");
      json[el.name] = first;
      json[el.dataset.split] = second;
      data.append(el.name, first);
      data.append(el.dataset.split, second);
      continue;
    }
    json[el.name] = el.value;
    data.append(el.name, el.value);
  }
  return multipart ? data : json;
}

function statusOf(root) {
  const el = root.querySelector(".form-status");
  return (text, failed) => {
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("form-error", Boolean(failed));
    if (failed) el.setAttribute("role", "alert");
  };
}

for (const form of document.querySelectorAll("form[data-api]")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const [method, url] = form.dataset.api.split(" ");
    const say = statusOf(form);
    const bar = form.querySelector("progress");
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    say("Đang xử lý…");
    if (bar) {
      bar.hidden = false;
      bar.value = 0;
    }
    try {
      const reply = await api(method, url, fields(form), (p) => {
        if (bar) bar.value = p;
        say(p < 100 ? `Đang tải lên: ${p}%` : "Đang xử lý trên máy chủ…");
      });
      say("Xong.");
      const next = form.dataset.next;
      if (next) {
        location.href = next.replace("{id}", reply && reply.id !== undefined ? reply.id : "");
      } else {
        location.reload();
      }
    } catch (e) {
      say(e.message, true);
      buttons.forEach((b) => (b.disabled = false));
      if (bar) bar.hidden = true;
    }
  });
}

// ---------------------------------------------------------------------------------------
// Signing through kyso agent
// ---------------------------------------------------------------------------------------

// One request to kyso agent: one WebSocket, one frame, the first reply (parsed).
function agentCall(endpoint, frame) {
  const url = `wss://127.0.0.1:${agentPort}/${endpoint}`;
  return new Promise((resolve, reject) => {
    let done = false;
    let socket;
    const fail = () => {
      if (done) return;
      done = true;
      reject(
        new Error(
          `Không kết nối được phần mềm ký số kyso agent trên máy tính này (${url}). Hãy cắm thiết bị ký số và chạy kyso agent.`,
        ),
      );
    };
    try {
      socket = new WebSocket(url);
    } catch {
      fail();
      return;
    }
    socket.onopen = () => socket.send(frame);
    socket.onmessage = (e) => {
      done = true;
      socket.close();
      try {
        resolve(JSON.parse(e.data));
      } catch {
        reject(new Error("kyso agent trả lời không đúng định dạng."));
      }
    };
    socket.onerror = fail;
    socket.onclose = fail;
  });
}

function agentOk(reply) {
  if (!reply || Number(reply.Status) !== 0) {
    throw new Error((reply && reply.Message) || "kyso agent không ký được.");
  }
  return reply;
}

function hexToBase64(hex) {
  const bytes = hex.match(/../g).map((h) => parseInt(h, 16));
  return btoa(String.fromCharCode(...bytes));
}

for (const signBox of document.querySelectorAll(".ky-qua-agent")) {
  const button = signBox.querySelector("button");
  const say = statusOf(signBox);
  button.addEventListener("click", async () => {
    button.disabled = true;
    const id = signBox.dataset.doc;
    // A document (leader or seal), or the handover minutes (data-start, data-finish).
    const start = signBox.dataset.start || `/api/v1/documents/${id}/signing-sessions`;
    const finish = signBox.dataset.finish || `/api/v1/documents/${id}/signature`;
    try {
      say("Đang đọc chứng thư số trên thiết bị ký số…");
      const info = agentOk(await agentCall("GetCertInfo", "get_cert_info"));
      say("Đang chuẩn bị văn bản để ký…");
      const body = { certificates: [info.CertInfo.Base64Data] };
      if (signBox.dataset.role) body.role = signBox.dataset.role;
      const ticket = await api("POST", start, body);
      say("Hãy xác nhận và nhập mã PIN trên cửa sổ của kyso agent…");
      const signed = agentOk(
        await agentCall(
          "SignMsg",
          JSON.stringify({
            HashAlg: ticket.digest_algorithm.replace("-", ""),
            HashValue: hexToBase64(ticket.digest),
            Encode: "RSA",
          }),
        ),
      );
      say("Đang ghép chữ ký vào văn bản và kiểm tra…");
      await api("POST", finish, {
        session: ticket.session,
        signature: signed.Signature,
      });
      say("Đã ký số.");
      location.reload();
    } catch (e) {
      say(e.message, true);
      button.disabled = false;
    }
  });
}
