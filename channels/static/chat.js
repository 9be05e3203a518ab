// The citizen chat page: one conversation per visitor token, kept across reloads and reconnects.
// Every text shown here comes from citizens, the bot or agents: it is only ever set as text, never as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "hpf.visitor";
  const OUTBOX_KEY = "hpf.outbox";
  const MAX_CHARS = 1000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 10000;
  const TYPING_TIMEOUT_MS = 30000;
  const AGENT_TYPING_MS = 5000;
  const TYPING_EVERY_MS = 3000;  // how often the citizen's typing is told (the agent sees 正在输入)
  const AUTHORS = { citizen: "我", bot: "智能客服", agent: "人工客服", system: "系统消息" };
  // The same characters the service strips before storing: a text made only of them is empty.
  const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f\u200b-\u200f\u2028\u2029\ufeff]/g;

  const $ = (id) => document.getElementById(id);
  const list = $("messages");
  const log = $("log");
  const input = $("input");
  const sendButton = $("send");
  const counter = $("counter");
  const errorLine = $("error");
  const typing = $("typing");
  const conn = $("conn");
  const serving = $("serving");

  const clock = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const fullClock = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: "short", hourCycle: "h23",
  });

  const shown = new Set();      // ids of messages on the page: the server may send one twice
  const pending = new Map();    // client_msg_id -> {text, el}; sent or queued, not yet echoed
  let socket = null;
  let ready = false;            // true once the server's hello arrived on the current socket
  let lastId = 0;
  let backoff = BACKOFF_MIN_MS;
  let retryTimer = 0;
  let typingTimer = 0;
  let typedAt = 0;              // when the agent was last told the citizen is typing; 0 after a send

  // -- storage (may be unavailable, e.g. in some private modes: then nothing survives a reload) --

  function load(key) {
    try { return localStorage.getItem(key); } catch { return null; }
  }

  function save(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, value);
    } catch { /* the page keeps working, it just forgets on reload */ }
  }

  function saveOutbox() {
    const items = [...pending].map(([id, item]) => ({ id, text: item.text }));
    save(OUTBOX_KEY, items.length ? JSON.stringify(items) : null);
  }

  function loadOutbox() {
    try {
      const items = JSON.parse(load(OUTBOX_KEY) || "[]");
      return Array.isArray(items) ? items.filter((i) => i && typeof i.id === "string" && typeof i.text === "string") : [];
    } catch {
      return [];
    }
  }

  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID(); // only in secure contexts (https, localhost)
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  // -- rendering ----------------------------------------------------------------------------------

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeUrl(raw) {
    try {
      const url = new URL(raw, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function parseTime(iso) {
    // The service sends an offset; a bare timestamp is UTC by convention, not browser-local time.
    const hasZone = /(Z|[+-]\d\d:?\d\d)$/.test(iso);
    const date = new Date(hasZone ? iso : `${iso}Z`);
    return Number.isNaN(date.getTime()) ? null : date;
  }

  function stamp(date) {
    const node = el("time", "msg__time", clock.format(date));
    node.dateTime = date.toISOString();
    node.title = fullClock.format(date);
    return node;
  }

  const items = (value) => (Array.isArray(value) ? value.filter((v) => v && typeof v === "object") : []);
  const str = (value) => (typeof value === "string" ? value : "");

  // A message's buttons answer that message only: once one is tapped, or a newer message brings buttons
  // of its own, they are disabled, so an old choice cannot restart a flow that has moved on.
  function retireButtons(row) {
    row.dataset.valid = "false";
    for (const button of row.querySelectorAll("button")) button.disabled = true;
  }

  function retireOlderButtons() {
    const rows = [...list.querySelectorAll(".msg__buttons")];
    rows.slice(0, -1).forEach(retireButtons);
  }

  // 好差评: a rating request is a small widget of five labelled levels; after a bad one the reasons come
  // as the next message, then a short comment is typed as usual. Only the widget's own row is touched:
  // the chosen level stays marked and the row is spent once used (as every button row is).
  function asRatingWidget(bubble, row, payload) {
    const request = payload.rating_request && typeof payload.rating_request === "object";
    const followUp = payload.rating_follow_up && typeof payload.rating_follow_up === "object";
    if (!request && !followUp) return;
    row.dataset.rating = request ? "levels" : str(payload.rating_follow_up.step) || "reasons";
    row.classList.add("rating");
    row.setAttribute("role", "group");
    row.setAttribute("aria-label", request ? "服务评价" : "评价原因");
    bubble.classList.add("msg__bubble--rating");
  }

  function markRated(row, button) {
    button.setAttribute("aria-pressed", "true");
    button.classList.add("chip--chosen");
    if (row.dataset.rating === "levels") row.after(el("p", "rating__done", `已评价：${button.textContent}`));
  }

  function renderExtras(bubble, payload) {
    // The service's answer to a rating step spends the widget's earlier rows (a skip after the comment
    // would mean nothing), whatever else the page does with older buttons.
    if (payload.rating !== undefined || payload.rating_request || payload.rating_follow_up) {
      list.querySelectorAll(".msg__buttons.rating").forEach(retireButtons);
    }
    const buttons = items(payload.buttons).filter((b) => str(b.title) && str(b.payload));
    if (buttons.length) {
      const row = el("div", "msg__buttons");
      for (const b of buttons) {
        const button = el("button", "chip", b.title);
        button.type = "button";
        button.addEventListener("click", () => {
          if (row.dataset.valid === "false") return;
          retireButtons(row);
          if (row.dataset.rating) markRated(row, button);
          submit(b.payload);
        });
        row.append(button);
      }
      if (payload.buttons_valid === false) retireButtons(row); // the service says they are spent
      bubble.append(row);
      asRatingWidget(bubble, row, payload);
    }
    const links = items(payload.links).filter((l) => str(l.url));
    if (links.length) {
      const ul = el("ul", "msg__links");
      for (const link of links) {
        const li = el("li");
        const href = safeUrl(link.url);
        const title = str(link.title) || link.url;
        if (href) {
          const a = el("a", "", title);
          a.href = href;
          a.target = "_blank";
          a.rel = "noopener noreferrer";
          li.append(a);
        } else {
          li.textContent = `${title}：${link.url}`;
        }
        ul.append(li);
      }
      bubble.append(ul);
    }
    renderMedia(bubble, items(payload.media));
    const titles = items(payload.sources).map((s) => str(s.title)).filter(Boolean);
    if (titles.length) {
      bubble.append(el("p", "msg__sources", `来源：${titles.map((t) => `《${t}》`).join("、")}`));
    }
  }

  // The answered article's pictures, diagrams and short videos, each with its words (alt text and caption).
  // Only our own /media/ files: a stored payload can never make the page load something from elsewhere.
  function renderMedia(bubble, media) {
    for (const item of media) {
      const url = str(item.url);
      if (!/^\/media\/[0-9a-f]{32}$/.test(url)) continue;
      const figure = el("figure", "msg__media");
      if (item.kind === "video") {
        const video = el("video");
        video.controls = true;
        video.preload = "metadata";
        video.src = url;
        video.setAttribute("aria-label", str(item.caption));
        figure.append(video);
      } else {
        const img = el("img");
        img.src = url;
        img.alt = str(item.caption);
        img.loading = "lazy";
        figure.append(img);
      }
      figure.append(el("figcaption", "", str(item.caption)));
      bubble.append(figure);
    }
  }

  function renderMessage(message) {
    const author = AUTHORS[message.author] ? message.author : "system";
    const payload = message.payload && typeof message.payload === "object" ? message.payload : {};
    const node = el("div", `msg msg--${author}`);
    const meta = el("p", "msg__meta");
    if (author !== "system") meta.append(el("span", "msg__who", AUTHORS[author]));
    const date = parseTime(str(message.created_at));
    if (date) meta.append(stamp(date));
    const bubble = el("div", "msg__bubble");
    bubble.append(el("p", "msg__text", str(message.text)));
    if (author !== "citizen") renderExtras(bubble, payload);
    node.append(meta, bubble);
    return node;
  }

  function nearBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  }

  function scrollDown(force) {
    if (force || nearBottom()) log.scrollTop = log.scrollHeight;
  }

  // Confirmed messages are kept in id order; bubbles still waiting for their echo stay below them.
  function place(node, id) {
    let before = null;
    for (let other = list.lastElementChild; other; other = other.previousElementSibling) {
      if (other === node) continue;
      const otherId = other.dataset.id ? Number(other.dataset.id) : Infinity;
      if (otherId < id) break;
      before = other;
    }
    list.insertBefore(node, before);
  }

  function setPendingState(item, state) {
    const labels = { sending: "发送中…", queued: "等待连接后发送", failed: "发送失败" };
    item.el.dataset.state = state;
    let status = item.el.querySelector(".msg__status");
    if (!status) {
      status = el("p", "msg__status");
      item.el.append(status);
    }
    status.replaceChildren(labels[state]);
    if (state === "failed") {
      const retry = el("button", "msg__retry", "重试");
      retry.type = "button";
      retry.addEventListener("click", () => transmit(item.id));
      status.append(" ", retry);
    }
  }

  function showPending(id, text) {
    const node = renderMessage({ author: "citizen", text, payload: {} });
    node.classList.add("msg--pending");
    const item = { id, text, el: node };
    pending.set(id, item);
    list.append(node);
    setPendingState(item, ready ? "sending" : "queued");
    scrollDown(true);
    return item;
  }

  function receive(message) {
    if (!message || typeof message.id !== "number" || shown.has(message.id)) return;
    shown.add(message.id);
    lastId = Math.max(lastId, message.id);
    const clientId = message.payload && message.payload.client_msg_id;
    const item = message.author === "citizen" ? pending.get(clientId) : undefined;
    const follow = nearBottom();
    const node = renderMessage(message);
    node.dataset.id = String(message.id);
    if (item) {
      // The echo of our own message: it replaces the waiting bubble, in the same place on screen.
      pending.delete(clientId);
      saveOutbox();
      item.el.replaceWith(node);
    }
    place(node, message.id);
    if (node.querySelector(".msg__buttons")) retireOlderButtons();
    if (message.author !== "citizen") hideTyping();
    showServing(message);
    scrollDown(follow);
  }

  // -- who is serving: the bot, or an agent by name (the claim's system message and agents' replies
  // carry the agent's name; the bot speaking again, or the rating request, means the agent has left) --

  function showServing(message) {
    const payload = message.payload && typeof message.payload === "object" ? message.payload : {};
    const agent = payload.agent && typeof payload.agent === "object" ? str(payload.agent.name) : "";
    if (agent && (message.author === "agent" || message.author === "system")) {
      serving.textContent = `人工客服 ${agent}`;
      serving.dataset.who = "agent";
    } else if (message.author === "bot" || payload.rating_request) {
      serving.textContent = "智能客服";
      serving.dataset.who = "bot";
    }
  }

  // -- typing, connection and error states ---------------------------------------------------------

  function showTyping(timeoutMs = TYPING_TIMEOUT_MS) {
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, timeoutMs); // never spin forever on a lost reply
    scrollDown(false);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typing.hidden = true;
  }

  function setConnection(state) {
    conn.dataset.state = state;
    conn.textContent = state === "online" ? "在线" : "连接中…";
  }

  function showError(text) {
    errorLine.textContent = text;
  }

  // -- sending --------------------------------------------------------------------------------------

  function clean(text) {
    return text.replace(INVISIBLE, "").trim();
  }

  function transmit(id) {
    const item = pending.get(id);
    if (!item) return;
    if (!ready || !socket || socket.readyState !== WebSocket.OPEN) {
      setPendingState(item, "queued");
      return;
    }
    socket.send(JSON.stringify({ type: "message", text: item.text, client_msg_id: id }));
    setPendingState(item, "sending");
  }

  function submit(text) {
    const body = clean(text);
    if (!body) return false;
    showError("");
    typedAt = 0;  // the next words typed are news again
    const item = showPending(newId(), body.slice(0, MAX_CHARS));
    saveOutbox(); // before sending: a reload in between must not lose it
    transmit(item.id);
    return true;
  }

  function refreshComposer() {
    const length = input.value.length;
    counter.textContent = `${length}/${MAX_CHARS}`;
    counter.classList.toggle("composer__counter--full", length >= MAX_CHARS * 0.9);
    sendButton.disabled = !clean(input.value);
    // Grow with the text up to the CSS max-height, then scroll inside; the log above shrinks, so
    // keep its last message in view.
    const follow = nearBottom();
    input.style.height = "auto";
    input.style.height = `${input.scrollHeight}px`;
    scrollDown(follow);
  }

  function sendInput() {
    if (submit(input.value)) {
      input.value = "";
      refreshComposer();
    }
    input.focus();
  }

  function serverError(frame) {
    showError(str(frame.message) || "消息发送失败，请重试。");
    const item = pending.get(frame.client_msg_id);
    if (item) {
      setPendingState(item, "failed");
      return;
    }
    // A refused text (empty, too long) has no echo coming: give its text back for editing.
    if (frame.code === "empty_message" || frame.code === "message_too_long") {
      const last = [...pending.values()].pop();
      if (!last) return;
      pending.delete(last.id);
      saveOutbox();
      last.el.remove();
      if (!input.value) {
        input.value = last.text;
        refreshComposer();
      }
    }
  }

  // -- connection -----------------------------------------------------------------------------------

  async function openSession() {
    const token = load(TOKEN_KEY);
    const response = await fetch("/api/v1/web/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(token ? { visitor_token: token } : {}),
    });
    if (response.status === 401 && token) {
      const body = await response.json().catch(() => ({}));
      if (body.code === "invalid_token") {
        save(TOKEN_KEY, null); // tampered or expired: start a new conversation
        lastId = 0;
        return openSession();
      }
    }
    if (!response.ok) throw new Error(`session: HTTP ${response.status}`);
    const session = await response.json();
    save(TOKEN_KEY, session.visitor_token);
    // The citizen's cards (cards.js) are read with the same token once the session is open.
    document.dispatchEvent(new CustomEvent("hpf:visitor", { detail: session.visitor_token }));
    return session.visitor_token;
  }

  function scheduleReconnect() {
    clearTimeout(retryTimer);
    setConnection("connecting");
    retryTimer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
  }

  async function connect() {
    clearTimeout(retryTimer);
    if (socket) return;
    setConnection("connecting");
    let token;
    try {
      token = await openSession();
    } catch {
      scheduleReconnect();
      return;
    }
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const query = `token=${encodeURIComponent(token)}&after=${lastId}`;
    const ws = new WebSocket(`${scheme}://${window.location.host}/ws/chat?${query}`);
    socket = ws;
    ws.addEventListener("message", (event) => onFrame(event.data));
    ws.addEventListener("close", (event) => {
      if (socket !== ws) return;
      socket = null;
      ready = false;
      hideTyping();
      for (const item of pending.values()) setPendingState(item, "queued");
      if (event.code === 4401) save(TOKEN_KEY, null); // the server refused the token
      scheduleReconnect();
    });
  }

  function onFrame(data) {
    let frame;
    try { frame = JSON.parse(data); } catch { return; }
    if (!frame || typeof frame !== "object") return;
    switch (frame.type) {
      case "hello":
        items(frame.history).forEach(receive);
        ready = true;
        backoff = BACKOFF_MIN_MS;
        setConnection("online");
        // Whatever was typed while offline goes now, with its original id: the server stores it once.
        for (const id of [...pending.keys()]) transmit(id);
        break;
      case "message":
        receive(frame.message);
        break;
      case "typing":
        showTyping();
        break;
      case "agent_typing": // the agent says so every few seconds while typing; it fades soon after
        showTyping(AGENT_TYPING_MS);
        break;
      case "resync": // the service's live link between instances came back: reconnect to read what was missed
        if (socket) socket.close();
        break;
      case "error":
        serverError(frame);
        break;
      default:
        break; // newer server frames this page does not know yet
    }
  }

  // -- wiring ---------------------------------------------------------------------------------------

  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    sendInput();
  });
  input.addEventListener("keydown", (event) => {
    // Enter while an input method is composing picks a candidate: it must not send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    sendInput();
  });
  input.addEventListener("input", () => {
    showError("");
    refreshComposer();
    const now = Date.now();
    if (input.value.trim() && now - typedAt >= TYPING_EVERY_MS && ready && socket && socket.readyState === WebSocket.OPEN) {
      typedAt = now;
      socket.send(JSON.stringify({ type: "typing" }));
    }
  });
  for (const chip of document.querySelectorAll(".welcome [data-ask]")) {
    chip.addEventListener("click", () => submit(chip.dataset.ask));
  }
  window.addEventListener("online", () => { if (!socket) connect(); });

  for (const { id, text } of loadOutbox()) showPending(id, text);
  refreshComposer();
  connect();
})();
