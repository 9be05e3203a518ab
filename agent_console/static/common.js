// Shared by the agent console and the supervisor view: API calls with the CSRF token, the login form,
// the live socket with reconnects, and safe rendering. Texts from citizens and colleagues are only ever
// set as text (textContent), never as HTML.
"use strict";

const Console = (() => {
  const CSRF_COOKIE = "hpf_console_csrf";
  const clock = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  const dateClock = new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  const CHANNELS = { web: "网页", app: "App", wechat: "微信", phone: "电话", webrtc: "网页语音" };
  const REASONS = {
    citizen_request: "市民要求人工", failed_understanding: "机器人两次未理解", complaint: "投诉",
    account_specific: "涉及个人账户",
  };
  const DUTY = { off: "未上班", pending: "待审批", on_duty: "在岗", on_break: "小休中", ended: "已下班" };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `请求失败（${status}）`);
      this.status = status;
      this.code = body && body.code;
      this.body = body || {};
    }
  }

  function csrf() {
    const pair = document.cookie.split("; ").find((c) => c.startsWith(`${CSRF_COOKIE}=`));
    return pair ? decodeURIComponent(pair.slice(CSRF_COOKIE.length + 1)) : "";
  }

  let onLoggedOut = () => {};

  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    const response = await fetch(path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401 && !path.endsWith("/login")) onLoggedOut(data.message);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  // A file upload (multipart): the browser sets the boundary; the CSRF token goes as for any change.
  async function upload(path, form) {
    const response = await fetch(path, {
      method: "POST", headers: { Accept: "application/json", "X-CSRF-Token": csrf() }, credentials: "same-origin",
      body: form,
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) onLoggedOut(data.message);
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // The charts (campaigns, funnel) are inline SVG drawn by the page: no library, nothing from a CDN.
  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = text;  // text, never markup
    return node;
  }

  function percent(rate) {
    return rate === null || rate === undefined ? "—" : `${(rate * 100).toFixed(1)}%`;
  }

  function button(text, onClick, className = "btn") {
    const node = el("button", className, text);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function time(iso, withDate = false) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? "" : (withDate ? dateClock : clock).format(date);
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const m = Math.floor(s / 60);
    return m >= 60 ? `${Math.floor(m / 60)}时${m % 60}分` : `${m}:${String(s % 60).padStart(2, "0")}`;
  }

  function since(iso) {
    return (Date.now() - new Date(iso).getTime()) / 1000;
  }

  let toastTimer = 0;
  function toast(text, kind = "info") {
    const node = document.getElementById("toast");
    node.textContent = text;
    node.dataset.kind = kind;
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { node.hidden = true; }, 6000);
  }

  // The login form shows until /me answers; `start(me)` runs once logged in.
  function login(start) {
    const panel = document.getElementById("login");
    const app = document.getElementById("app");
    const form = document.getElementById("login-form");
    const error = document.getElementById("login-error");
    let started = false;
    onLoggedOut = (message) => {
      if (!started) return;
      started = false;
      app.hidden = true;
      panel.hidden = false;
      error.textContent = message || "登录已过期，请重新登录。";
      Live.stop();
    };
    async function enter() {
      const me = await api("GET", "/api/v1/console/me");
      panel.hidden = true;
      app.hidden = false;
      started = true;
      start(me);
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      try {
        await api("POST", "/api/v1/console/login", {
          username: document.getElementById("login-user").value.trim(),
          password: document.getElementById("login-pass").value,
        });
        document.getElementById("login-pass").value = "";
        await enter();
      } catch (e) {
        error.textContent = e.message;
      }
    });
    // Without the login's CSRF cookie there is no session to ask about: the form shows at once, and the
    // browser's log gets no 401 for /me on every first visit.
    if (csrf()) {
      enter().catch(() => {
        document.cookie = `${CSRF_COOKIE}=; Max-Age=0; path=/; SameSite=Strict`;  // that login is over
        panel.hidden = false;
      });
    }
    else panel.hidden = false;
    document.getElementById("logout").addEventListener("click", async () => {
      await api("POST", "/api/v1/console/logout").catch(() => {});
      onLoggedOut("您已退出登录。");
    });
  }

  // The live socket: events go to `onEvent`; reconnects with backoff and tells `onState`.
  const Live = (() => {
    let socket = null;
    let wanted = false;
    let backoff = 500;
    let handlers = {};
    let retry = 0;
    const listeners = [];  // other scripts of the page (the standing panel) hear every event too
    function open() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(`${scheme}://${location.host}/ws/console`);
      socket = ws;
      ws.addEventListener("open", () => { backoff = 500; handlers.onState("online"); });
      ws.addEventListener("message", (event) => {
        let frame;
        try { frame = JSON.parse(event.data); } catch { return; }
        if (frame && typeof frame === "object") {
          handlers.onEvent(frame);
          for (const fn of listeners) fn(frame);
        }
      });
      ws.addEventListener("close", (event) => {
        if (socket !== ws) return;
        socket = null;
        handlers.onState("offline");
        if (event.code === 4401) { onLoggedOut(); return; }
        if (wanted) retry = setTimeout(open, backoff);
        backoff = Math.min(backoff * 2, 10000);
      });
    }
    return {
      start(onEvent, onState) {
        handlers = { onEvent, onState };
        wanted = true;
        if (!socket) open();
      },
      stop() {
        wanted = false;
        clearTimeout(retry);
        if (socket) { const ws = socket; socket = null; ws.close(); }
      },
      send(frame) {
        if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
      },
      listen(fn) {
        listeners.push(fn);
      },
    };
  })();

  // One message of a transcript, as text.
  const AUTHORS = { citizen: "市民", bot: "智能客服", agent: "客服", system: "系统" };
  function messageNode(message) {
    const author = AUTHORS[message.author] ? message.author : "system";
    const payload = message.payload && typeof message.payload === "object" ? message.payload : {};
    const node = el("div", `tmsg tmsg--${author}`);
    node.dataset.id = String(message.id);
    const name = author === "agent" && payload.agent && typeof payload.agent.name === "string" ? payload.agent.name : "";
    // Display names read "客服 0123 王" already; older ones were bare names.
    const who = name ? (name.startsWith("客服") ? name : `客服 ${name}`) : AUTHORS[author];
    const meta = el("p", "tmsg__meta");
    meta.append(el("span", "tmsg__who", who), el("time", "tmsg__time", time(message.created_at)));
    node.append(meta, el("p", "tmsg__text", message.text));
    const links = Array.isArray(payload.links) ? payload.links : [];
    for (const link of links) {
      if (link && typeof link.url === "string") node.append(el("p", "tmsg__link", `链接：${link.title || ""} ${link.url}`));
    }
    const buttons = Array.isArray(payload.buttons) ? payload.buttons : [];
    if (buttons.length) node.append(el("p", "tmsg__buttons", `按钮：${buttons.map((b) => b && b.title).join(" / ")}`));
    const why = author === "bot" ? explainNode(payload.explain) : null;
    if (why) node.append(why);
    return node;
  }

  // Why the bot answered, asked back or declined (the knowledge base's explanation): agents see it beside
  // the bot's turn, never the citizen. The decision, the rule, and the top candidates with their scores.
  const DECISIONS = { answer: "直接回答", clarify: "反问确认", none: "无可靠答案", decline: "不属于本中心业务" };
  function explainNode(explain) {
    if (!explain || typeof explain !== "object" || typeof explain.decision !== "string") return null;
    const top = Array.isArray(explain.top) ? explain.top : [];
    const candidates = top
      .filter((c) => c && typeof c.title === "string")
      .map((c) => `${c.title} ${typeof c.confidence === "number" ? c.confidence.toFixed(2) : "?"}` +
        // How many ranking signals put it first ("4/4 一致" is why a low probability may still be answered).
        (typeof c.agreement === "number" && typeof c.signals === "number" ? ` ${c.agreement}/${c.signals} 一致` : ""));
    const decision = DECISIONS[explain.decision] || explain.decision;
    const rule = typeof explain.rule === "string" && explain.rule ? `（${explain.rule}）` : "";
    // The article's source as written, with the notes the citizen never sees ("待中心确认").
    const note = typeof explain.staff_note === "string" && explain.staff_note ? `；出处（内部）：${explain.staff_note}` : "";
    const text = `依据：${decision}${rule}${candidates.length ? `；候选：${candidates.join("，")}` : ""}${note}`;
    return el("p", "tmsg__explain", text);
  }

  return { api, upload, el, svg, percent, button, time, duration, since, toast, login, Live, messageNode, CHANNELS, REASONS,
           DUTY, ApiError };
})();
