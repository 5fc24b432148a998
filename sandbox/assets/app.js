// Herald sandbox web chat: a small Telegram client for the emulator. Message HTML comes
// from the server already escaped (sandbox/render.go); this file only places it, and
// turns the composer's formatting into Bot API entities.
"use strict";

const body = document.body;
const words = JSON.parse(body.dataset.words);
const lang = body.dataset.lang;
const $ = (id) => document.getElementById(id);
const t = (key, vars) => (words[key] || key).replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k]) || "");

$("you-are").textContent = t("you_are", { name: body.dataset.admin });
if (body.dataset.batch && $("batch-note")) {
  $("batch-note").textContent = t("sample_batch", { batch: body.dataset.batch });
}

// ---- toasts and requests ----

let toastTimer;
function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 3500);
}

async function post(path, payload) {
  const init = { method: "POST" };
  if (payload instanceof FormData) {
    init.body = payload;
  } else {
    init.body = JSON.stringify(payload);
    init.headers = { "Content-Type": "application/json" };
  }
  const resp = await fetch(path + "?lang=" + lang, init);
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.error || resp.statusText);
  return data;
}

// ---- message lists ----

function hhmm(unix) {
  const d = new Date(unix * 1000);
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}

function nearBottom(list) {
  return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
}

// apply draws a batch of events into list; showBot adds the sender's name (the inbox
// mixes several channel bots).
function apply(list, views, showBot) {
  const stick = nearBottom(list);
  for (const v of views) {
    const key = v.chat + ":" + v.id;
    let el = list.querySelector(`[data-key="${key}"]`);
    if (v.kind === "delete") {
      if (el) el.remove();
      continue;
    }
    if (!el) {
      el = document.createElement("div");
      el.dataset.key = key;
      el.dataset.id = v.id;
      el.dataset.version = "0";
      el.className = "msg " + (v.out ? "out" : "in");
      list.appendChild(el);
    } else {
      el.dataset.version = String(Number(el.dataset.version) + 1);
      el.classList.remove("flash");
      void el.offsetWidth; // restart the highlight animation
      el.classList.add("flash");
    }
    const from = showBot && v.bot_name ? `<div class="from">${escapeText(v.bot_name)}</div>` : "";
    const meta = `<div class="meta">${v.edited ? `<span class="edited">${escapeText(t("edited"))}</span> ` : ""}${hhmm(v.date)}</div>`;
    el.innerHTML = from + v.html + meta; // v.html is escaped by the server
  }
  const empty = list.querySelector(".note");
  if (empty) empty.hidden = list.querySelector(".msg") !== null;
  if (stick) list.scrollTop = list.scrollHeight;
}

function escapeText(s) {
  const d = document.createElement("div");
  d.textContent = s;
  return d.innerHTML;
}

function clearList(list) {
  list.querySelectorAll(".msg").forEach((m) => m.remove());
}

// A list scrolled to its end stays at its end when the window changes size (a phone
// turning, the panes stacking), as in Telegram.
function keepAtEnd(list) {
  let atEnd = true;
  list.addEventListener("scroll", () => { atEnd = nearBottom(list); });
  new ResizeObserver(() => { if (atEnd) list.scrollTop = list.scrollHeight; }).observe(list);
}

// follow keeps an EventSource open; the browser reconnects by itself and the server
// starts every connection with "reset" and the whole chat.
function follow(url, list, showBot, onChange) {
  const es = new EventSource(url);
  es.addEventListener("reset", () => clearList(list));
  es.addEventListener("messages", (e) => {
    apply(list, JSON.parse(e.data), showBot);
    if (onChange) onChange();
  });
  es.onerror = () => list.classList.add("offline");
  es.onopen = () => list.classList.remove("offline");
  return es;
}

// ---- the admin's chat ----

const chat = $("chat");
keepAtEnd(chat);
follow("/sandbox/api/chat/events?lang=" + lang, chat, false, () => {
  $("start-bar").hidden = chat.querySelector(".msg") !== null;
});
$("start-bar").hidden = false;

async function sendText(text, entities) {
  try {
    await post("/sandbox/api/chat/send", { text, entities: entities || [] });
    return true;
  } catch (err) {
    toast(t("send_failed") + ": " + err.message);
    return false;
  }
}

$("start-btn").addEventListener("click", () => sendText("/start"));

function onMessageClick(e) {
  const spoiler = e.target.closest(".spoiler");
  if (spoiler) {
    spoiler.classList.add("revealed");
    return;
  }
  const cmd = e.target.closest(".cmd");
  if (cmd && e.currentTarget === chat) {
    sendText(cmd.dataset.cmd.split("@")[0]);
    return;
  }
  const btn = e.target.closest("button.kb-btn[data-cb]");
  if (!btn || e.currentTarget !== chat) return;
  const msg = btn.closest(".msg");
  btn.classList.add("busy");
  post("/sandbox/api/chat/press", { message_id: Number(msg.dataset.id), data: btn.dataset.cb })
    .then((a) => {
      if (a.text) a.alert ? alert(a.text) : toast(a.text);
    })
    .catch((err) => toast(err.message))
    .finally(() => btn.classList.remove("busy"));
}
chat.addEventListener("click", onMessageClick);

// ---- composer: formatting and entities ----

const composer = $("composer");
const tagOf = { bold: "b", italic: "i", underline: "u", strikethrough: "s", code: "code", spoiler: "span", text_link: "a" };

// wrap puts the selection inside a formatting element, as Telegram's desktop client does.
function wrap(type) {
  const sel = window.getSelection();
  if (!sel.rangeCount || sel.isCollapsed || !composer.contains(sel.anchorNode)) return;
  let url = "";
  if (type === "text_link") {
    url = prompt(t("link_prompt"), "https://");
    if (!url || !/^(https?|tg):\/\//i.test(url)) return;
  }
  const range = sel.getRangeAt(0);
  const el = document.createElement(tagOf[type]);
  if (type === "spoiler") el.className = "spoiler";
  if (type === "text_link") el.setAttribute("href", url);
  el.appendChild(range.extractContents());
  range.insertNode(el);
  sel.removeAllRanges();
  const after = document.createRange();
  after.selectNodeContents(el);
  sel.addRange(after);
}

const shortcuts = { b: "bold", i: "italic", u: "underline", k: "text_link" };
const shiftShortcuts = { x: "strikethrough", m: "code", p: "spoiler" };

composer.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submit();
    return;
  }
  if (!(e.ctrlKey || e.metaKey)) return;
  const type = (e.shiftKey ? shiftShortcuts : shortcuts)[e.key.toLowerCase()];
  if (type) {
    e.preventDefault();
    wrap(type);
  }
});

// Pasted text arrives plain, like in Telegram: formatting is the composer's own.
composer.addEventListener("paste", (e) => {
  e.preventDefault();
  const text = (e.clipboardData || window.clipboardData).getData("text/plain");
  document.execCommand("insertText", false, text);
});

document.querySelectorAll(".toolbar [data-fmt]").forEach((b) => {
  b.addEventListener("mousedown", (e) => e.preventDefault()); // keep the selection
  b.addEventListener("click", () => wrap(b.dataset.fmt));
});

function entityTypes(el) {
  switch (el.nodeName) {
    case "B": case "STRONG": return ["bold"];
    case "I": case "EM": return ["italic"];
    case "U": case "INS": return ["underline"];
    case "S": case "STRIKE": case "DEL": return ["strikethrough"];
    case "CODE": return ["code"];
    case "A": return ["text_link"];
    case "SPAN": return el.classList.contains("spoiler") ? ["spoiler"] : [];
  }
  return [];
}

// serialize turns the composer's DOM into text and entities. JavaScript strings count
// UTF-16 code units, exactly like Bot API offsets.
function serialize(root) {
  let text = "";
  const entities = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      text += node.nodeValue.replace(/\u00a0/g, " ");
      return;
    }
    if (node.nodeName === "BR") {
      text += "\n";
      return;
    }
    const block = node !== root && (node.nodeName === "DIV" || node.nodeName === "P");
    if (block && text !== "" && !text.endsWith("\n")) text += "\n";
    const start = text.length;
    node.childNodes.forEach(walk);
    if (node === root) return;
    for (const type of entityTypes(node)) {
      if (text.length > start) {
        const e = { type, offset: start, length: text.length - start };
        if (type === "text_link") e.url = node.getAttribute("href");
        entities.push(e);
      }
    }
  };
  walk(root);
  // Telegram's clients drop leading and trailing whitespace (a stray empty line would
  // turn "/newbatch" into text that is not a command); entities move with the text.
  const end = text.replace(/\s+$/, "").length;
  const lead = text.length - text.replace(/^\s+/, "").length;
  const trimmed = text.slice(lead, Math.max(end, lead));
  const clipped = entities
    .map((e) => {
      const from = Math.max(e.offset, lead);
      const to = Math.min(e.offset + e.length, end);
      return { ...e, offset: from - lead, length: to - from };
    })
    .filter((e) => e.length > 0);
  return { text: trimmed, entities: clipped };
}

// submit empties the composer at once, so what is typed while a slow send is on its
// way is kept; a send that fails puts the text back if nothing new was typed.
async function submit() {
  const { text, entities } = serialize(composer);
  if (!text.trim()) return;
  const typed = composer.innerHTML;
  composer.innerHTML = "";
  if (!(await sendText(text, entities)) && composer.innerHTML === "") composer.innerHTML = typed;
}

$("composer-form").addEventListener("submit", (e) => {
  e.preventDefault();
  submit();
});

$("file").addEventListener("change", async (e) => {
  const file = e.target.files[0];
  e.target.value = "";
  if (!file) return;
  const { text, entities } = serialize(composer);
  const form = new FormData();
  form.append("file", file, file.name);
  form.append("caption", text);
  form.append("entities", JSON.stringify(entities));
  composer.classList.add("busy");
  try {
    await post("/sandbox/api/chat/upload", form);
    composer.innerHTML = "";
  } catch (err) {
    toast(t("upload_failed") + ": " + err.message);
  } finally {
    composer.classList.remove("busy");
  }
});

// ---- the recipient's phone ----

const inbox = $("inbox");
keepAtEnd(inbox);
const picker = $("recipient");
let inboxStream = null;
inbox.addEventListener("click", onMessageClick);

function showRecipient(id) {
  if (inboxStream) inboxStream.close();
  clearList(inbox);
  inbox.querySelector(".note").hidden = false;
  picker.value = String(id);
  const opt = picker.selectedOptions[0];
  $("person-avatar").textContent = opt ? opt.textContent.trim().charAt(0) : "?";
  localStorage.setItem("sandbox.recipient", String(id));
  inboxStream = follow(`/sandbox/api/inbox/${id}/events`, inbox, true);
}

fetch("/sandbox/api/recipients")
  .then((r) => r.json())
  .then((list) => {
    for (const r of list) {
      const o = document.createElement("option");
      o.value = String(r.id);
      o.textContent = `${r.name} · ${r.id}`;
      picker.appendChild(o);
    }
    const saved = Number(localStorage.getItem("sandbox.recipient"));
    const first = list.some((r) => r.id === saved) ? saved : list.length ? list[0].id : 0;
    if (first) showRecipient(first);
  });

picker.addEventListener("change", () => showRecipient(picker.value));
$("random").addEventListener("click", () => {
  const opts = picker.options;
  if (opts.length) showRecipient(opts[Math.floor(Math.random() * opts.length)].value);
});

// ---- channel bots' counters ----

const nf = new Intl.NumberFormat(lang);
const channels = $("channels");
const stats = new EventSource("/sandbox/api/stats/events");
stats.addEventListener("channels", (e) => {
  for (const c of JSON.parse(e.data)) {
    let card = channels.querySelector(`[data-bot="${c.id}"]`);
    if (!card) {
      card = document.createElement("div");
      card.className = "channel";
      card.dataset.bot = c.id;
      channels.appendChild(card);
    }
    const share = Math.min(100, Math.round((100 * c.last_second) / Math.max(c.rate, 1)));
    card.innerHTML = `
      <div class="ch-name"><b>${escapeText(c.name)}</b> <span class="muted">@${escapeText(c.username)}</span></div>
      <div class="ch-limit">${escapeText(t("limit"))} ${nf.format(c.rate)}${escapeText(t("per_second"))}${c.paid ? " · " + escapeText(t("paid")) : ""}</div>
      <div class="ch-figures">
        <div><span class="big" data-field="sent">${nf.format(c.sent)}</span><small>${escapeText(t("sent"))}</small></div>
        <div><span class="big" data-field="now">${nf.format(c.last_second)}${escapeText(t("per_second"))}</span><small>${escapeText(t("now"))}</small></div>
        <div><span class="big">${nf.format(c.peak)}${escapeText(t("per_second"))}</span><small>${escapeText(t("peak"))}</small></div>
        <div><span class="big">${nf.format(c.too_many)}</span><small>${escapeText(t("too_many"))}</small></div>
      </div>
      <div class="bar"><div class="fill"></div></div>`;
    card.querySelector(".fill").style.width = share + "%";
  }
});
