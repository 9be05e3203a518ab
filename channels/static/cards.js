// The citizen's personal cards (您可以办理：…): above the conversation on the chat page, and the whole of
// the WeChat menu's landing page /me (我的待办). Card texts are written by staff from the centre's data:
// they are only ever set as text, never as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "hpf.visitor"; // the chat page's signed visitor token (WeChat's authorisation stores it too)
  const root = document.getElementById("cards");
  if (!root) return;
  const landing = root.dataset.mode === "page";
  let loaded = false;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function safeUrl(raw) {
    if (typeof raw !== "string" || !raw) return null;
    try {
      const url = new URL(raw, window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  function storedToken() {
    try { return localStorage.getItem(TOKEN_KEY); } catch { return null; }
  }

  function notice(text) {
    root.replaceChildren(el("p", "cards__empty", text));
    root.hidden = false;
  }

  function renderCard(card, token) {
    const item = el("article", "card");
    item.dataset.cardId = String(card.id);
    const label = el("p", "card__label", "您可以办理：");
    label.append(el("strong", "card__title", String(card.business_name || card.title || "")));
    item.append(label, el("p", "card__text", String(card.text || "")));
    const actions = el("div", "card__actions");
    const url = safeUrl(card.url);
    if (url) {
      const go = el("a", "card__go", "立即办理");
      go.href = url;
      actions.append(go);
    }
    const away = el("button", "card__dismiss", "不再显示");
    away.type = "button";
    away.addEventListener("click", () => dismiss(card.id, token, item));
    actions.append(away);
    item.append(actions);
    return item;
  }

  function render(cards, token) {
    const list = cards.filter((c) => c && typeof c === "object" && Number.isInteger(c.id));
    if (!list.length) {
      if (landing) notice("暂无待办事项");
      else root.hidden = true;
      return;
    }
    const nodes = list.map((card) => renderCard(card, token));
    if (!landing) nodes.unshift(el("h2", "cards__heading", "为您推荐"));
    root.replaceChildren(...nodes);
    root.hidden = false;
  }

  async function load(token) {
    if (!token) {
      if (landing) notice("请从公众号菜单进入");
      return;
    }
    let response;
    try {
      response = await fetch("/api/v1/web/cards", { headers: { Authorization: `Bearer ${token}` } });
    } catch {
      if (landing) notice("网络不稳定，请稍后刷新重试");
      return;
    }
    if (response.status === 401) {
      if (landing) notice("请从公众号菜单进入");
      return;
    }
    if (!response.ok) {
      if (landing) notice("暂时无法读取待办事项，请稍后刷新重试");
      return;
    }
    const body = await response.json().catch(() => ({}));
    loaded = true;
    render(Array.isArray(body.cards) ? body.cards : [], token);
  }

  async function dismiss(id, token, item) {
    const response = await fetch(`/api/v1/web/cards/${encodeURIComponent(id)}/dismiss`, {
      method: "POST", headers: { Authorization: `Bearer ${token}` },
    }).catch(() => null);
    if (!response || !(response.ok || response.status === 404)) return; // kept: the citizen may try again
    item.remove();
    if (!root.querySelector(".card")) render([], token);
  }

  if (landing) {
    load(storedToken());
  } else {
    // The chat page knows its visitor only after its session opens (a first visit has no token yet).
    document.addEventListener("hpf:visitor", (event) => { if (!loaded) load(event.detail); });
  }
})();
