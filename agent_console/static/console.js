// The agent console: the inbox (我的 / 等待 / 全部) with grab buttons and live waiting times, the open
// conversation with a transcript that keeps the newest message in view, the citizen at a glance, private
// notes, replies with "/" canned replies and knowledge-base suggestions, typing shown both ways,
// confirmation before finishing or sending a link, keyboard shortcuts, and a chime plus a notification for
// a new citizen in the queue while the tab is in the background (alerts.js).
"use strict";

(() => {
  const { api, el, button, time, duration, since, toast, Live, messageNode, CHANNELS, REASONS, DUTY } = Console;
  const $ = (id) => document.getElementById(id);
  const ROLE_NAMES = { agent: "客服", campaigner: "外呼专员", supervisor: "主管", admin: "管理员" };

  let me = null;
  let duty = { state: "off" };
  const pool = new Map();     // conversation_id -> pool item
  const tickets = new Map();  // ticket_id -> ticket
  const mine = new Map();     // conversation_id -> {item, unread}
  let selected = null;        // conversation id shown in the middle
  let suggestTimer = 0;
  let typingTimer = 0;        // hides "市民正在输入…"
  let typedAt = 0;            // when this agent's typing was last told
  let canned = [];            // [{title, text}]
  let cannedPick = 0;         // highlighted entry of the "/" menu
  const VIEW_KEY = "hpf.console.view";

  // -- duty -----------------------------------------------------------------------------------------

  function showDuty(shift) {
    duty = shift || { state: "off" };
    const state = duty.state || "off";
    $("duty-state").dataset.state = state;
    $("duty-state").textContent = DUTY[state] || state;
    $("duty-until").textContent = duty.ends_at && state !== "pending" ? `至 ${time(duty.ends_at)}` : "";
    const open = ["on_duty", "on_break", "pending"].includes(state);
    $("break-toggle").hidden = !["on_duty", "on_break"].includes(state);
    $("break-toggle").textContent = state === "on_break" ? "结束小休" : "小休";
    $("duty-end").hidden = !open;
    $("duty-start").textContent = state === "on_duty" || state === "on_break" ? "延长" : "上班";
    $("duty-start").disabled = state === "pending";
    $("pool-off").hidden = state === "on_duty";
    if (state !== "on_duty" && !isSupervisor()) {
      pool.clear();
      renderPool();
    }
  }

  const isSupervisor = () => me && (me.role === "supervisor" || me.role === "admin");

  async function dutyAction(call) {
    try {
      showDuty(await call());
    } catch (e) {
      toast(e.message, "error");
    }
  }

  // -- the pool -------------------------------------------------------------------------------------

  // Pool order: priority first, then oldest first (as the server sorts it).
  function before(a, b) {
    return (b.priority - a.priority) || (a.queued_at < b.queued_at ? -1 : a.queued_at > b.queued_at ? 1 : a.handoff_id - b.handoff_id);
  }

  function renderPool() {
    const items = [...pool.values()].sort(before);
    $("pool-list").replaceChildren(...items.map(poolCard));
    $("pool-count").textContent = String(items.length);
  }

  // -- the inbox tabs ---------------------------------------------------------------------------------

  function showView(view) {
    if (!["mine", "waiting", "all"].includes(view)) view = "all";
    $("inbox").dataset.view = view;
    for (const tab of document.querySelectorAll("#inbox-tabs [role=tab]")) {
      const on = tab.dataset.view === view;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    try { localStorage.setItem(VIEW_KEY, view); } catch { /* private mode: not remembered */ }
  }

  // One change, one card: with a thousand citizens waiting, an event must not rebuild the whole list.
  function addToPool(item) {
    const list = $("pool-list");
    list.querySelector(`[data-conversation="${CSS.escape(item.conversation_id)}"]`)?.remove();
    pool.set(item.conversation_id, item);
    const card = poolCard(item);
    let next = null;
    for (const node of list.children) {
      const other = pool.get(node.dataset.conversation);
      if (other && before(item, other) < 0) { next = node; break; }
    }
    list.insertBefore(card, next);
    $("pool-count").textContent = String(pool.size);
    DeskAlerts.waiting(item.preview);
  }

  function dropFromPool(conversationId) {
    pool.delete(conversationId);
    $("pool-list").querySelector(`[data-conversation="${CSS.escape(conversationId)}"]`)?.remove();
    $("pool-count").textContent = String(pool.size);
  }

  function poolCard(item) {
    const li = el("li", "card card--pool");
    li.dataset.conversation = item.conversation_id;
    if (item.priority > 0) li.classList.add("card--priority");
    const head = el("p", "card__head");
    head.append(
      el("span", "tag", CHANNELS[item.channel] || item.channel),
      el("span", "tag tag--reason", REASONS[item.reason] || item.reason),
    );
    if (item.skill) head.append(el("span", "tag", `技能组：${item.skill}`));
    const waited = el("span", "card__wait");
    waited.dataset.since = item.queued_at;
    waited.textContent = `等待 ${duration(since(item.queued_at))}`;
    head.append(waited);
    li.append(head, el("p", "card__preview", item.preview || "（暂无留言）"));
    if (item.note) li.append(el("p", "card__note", `转接备注：${item.note}`));
    const grab = button("抢接", () => claim(item.conversation_id, grab), "btn btn--primary card__grab");
    li.append(grab);
    return li;
  }

  async function claim(conversationId, grabButton) {
    grabButton.disabled = true;
    try {
      await api("POST", `/api/v1/console/conversations/${conversationId}/claim`);
      dropFromPool(conversationId);
      await loadMine();
      await openConversation(conversationId);
    } catch (e) {
      toast(e.message, "error");
      if (e.status === 409 || e.status === 404) dropFromPool(conversationId);
      grabButton.disabled = false;
    }
  }

  function removedFromPool(event) {
    const item = pool.get(event.conversation_id);
    if (!item) return;
    dropFromPool(event.conversation_id);
    if (event.reason === "claimed" && event.agent_id !== me.id) {
      const what = item.preview ? `“${item.preview.slice(0, 20)}”` : "一个会话";
      toast(`${what}已被其他客服接入。`);
    } else if (event.reason === "left") {
      toast("一位市民已离开队列（留言或结束会话）。");
    }
  }

  // -- callback tickets ---------------------------------------------------------------------------------

  function renderTickets() {
    const list = $("ticket-list");
    const items = [...tickets.values()].filter((t) => t.state !== "done");
    list.replaceChildren(...items.map(ticketCard));
    $("ticket-count").textContent = String(items.length);
  }

  function ticketCard(ticket) {
    const li = el("li", "card card--ticket");
    const head = el("p", "card__head");
    head.append(el("span", "tag", `回访单 #${ticket.ticket_id}`), el("span", "tag", CHANNELS[ticket.channel] || ticket.channel));
    if (ticket.promised_by) head.append(el("span", "card__wait", `承诺 ${time(ticket.promised_by, true)} 前联系`));
    li.append(head, el("p", "card__preview", ticket.question || "（无内容）"));
    if (ticket.contact) li.append(el("p", "card__note", `联系方式：${ticket.contact}`));
    if (ticket.state === "open") {
      li.append(button("领取", async () => {
        try { tickets.set(ticket.ticket_id, await api("POST", `/api/v1/console/callbacks/${ticket.ticket_id}/claim`)); }
        catch (e) { toast(e.message, "error"); }
        renderTickets();
      }, "btn"));
    } else if (ticket.agent_id === me.id) {
      const input = el("input", "card__input");
      input.placeholder = "回复市民（发到其会话）";
      input.maxLength = 2000;
      li.append(input, button("回复", async () => {
        if (!input.value.trim()) return;
        try { await api("POST", `/api/v1/console/callbacks/${ticket.ticket_id}/reply`, { text: input.value }); input.value = ""; toast("已回复市民。"); }
        catch (e) { toast(e.message, "error"); }
      }, "btn"), button("办结", async () => {
        try { tickets.set(ticket.ticket_id, await api("POST", `/api/v1/console/callbacks/${ticket.ticket_id}/done`, {})); }
        catch (e) { toast(e.message, "error"); }
        renderTickets();
      }, "btn"));
    } else {
      li.append(el("p", "muted", "已由其他客服领取"));
    }
    return li;
  }

  // -- my conversations ---------------------------------------------------------------------------------

  async function loadMine() {
    const { conversations } = await api("GET", "/api/v1/console/conversations");
    const unread = new Map([...mine].map(([id, entry]) => [id, entry.unread]));
    mine.clear();
    for (const item of conversations) mine.set(item.conversation_id, { item, unread: unread.get(item.conversation_id) || 0 });
    renderMine();
  }

  function renderMine() {
    const list = $("mine-list");
    list.replaceChildren(...[...mine.values()].map(({ item, unread }) => {
      const li = el("li", "card card--mine");
      li.dataset.conversation = item.conversation_id;
      if (item.conversation_id === selected) li.classList.add("card--selected");
      const head = el("p", "card__head");
      head.append(el("span", "tag", CHANNELS[item.channel] || item.channel), el("span", "tag tag--reason", REASONS[item.reason] || item.reason));
      if (unread) head.append(el("span", "unread", `${unread} 条新消息`));
      li.append(head, el("p", "card__preview", item.preview || ""));
      li.append(button("打开", () => openConversation(item.conversation_id), "btn"));
      return li;
    }));
    $("mine-count").textContent = String(mine.size);
    $("mine-empty").hidden = mine.size > 0;
  }

  function closeDetail() {
    selected = null;
    $("detail").hidden = true;
    $("side").hidden = true;
    $("detail-empty").hidden = false;
    $("citizen-typing").hidden = true;
    renderMine();
  }

  // -- the transcript: newest in view, unless the agent scrolled up to read --------------------------

  const transcript = () => $("transcript");

  function atBottom() {
    const box = transcript();
    return box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  }

  function toBottom() {
    const box = transcript();
    box.scrollTop = box.scrollHeight;
    $("new-below").hidden = true;
  }

  async function openConversation(conversationId) {
    let packet;
    try {
      packet = await api("GET", `/api/v1/console/conversations/${conversationId}`);
    } catch (e) {
      toast(e.message, "error");
      return;
    }
    if (selected && selected !== conversationId) $("reply").value = "";
    selected = conversationId;
    const entry = mine.get(conversationId);
    if (entry) entry.unread = 0;
    renderMine();
    $("detail-empty").hidden = true;
    $("detail").hidden = false;
    $("side").hidden = false;
    $("citizen-typing").hidden = true;
    const { conversation, handoff } = packet;
    const glance = packet.glance || { question: null, need: null, facts: [], citizen: "" };
    $("detail-title").textContent = `${CHANNELS[conversation.channel] || conversation.channel} · ${glance.citizen}`;
    $("detail-who").textContent = glance.need ? `诉求：${glance.need}` : "";
    showQuestion(glance.question);
    const context = $("detail-context");
    context.replaceChildren();
    const fact = (label, value) => {
      if (value === undefined || value === null || value === "") return;
      context.append(el("dt", "", label), el("dd", "", value));
    };
    fact("市民身份", glance.citizen);
    if (handoff) {
      fact("转人工原因", REASONS[handoff.reason] || handoff.reason);
      fact("识别诉求", glance.need);
      for (const item of glance.facts) fact(item.label, item.value);
      fact("转接备注", handoff.note);
      fact("联系方式", handoff.contact);
      fact("进入队列", time(handoff.queued_at, true));
    }
    const earlier = $("earlier-list");
    earlier.replaceChildren(...packet.earlier_conversations.map((c) => el("li", "",
      `${time(c.created_at, true)} ${CHANNELS[c.channel] || c.channel} · ${c.messages}条消息` +
      `${c.handoff_reason ? ` · 曾转人工（${REASONS[c.handoff_reason] || c.handoff_reason}）` : ""}` +
      `${c.last_citizen_text ? ` · “${c.last_citizen_text}”` : ""}`)));
    $("detail-earlier").hidden = packet.earlier_conversations.length === 0;
    const box = transcript();
    box.replaceChildren(...packet.transcript.map(messageNode));
    toBottom();
    requestAnimationFrame(toBottom);  // once laid out (fonts, wrapping), the end is where it settled
    $("composer").hidden = packet.mode !== "owner";
    $("note-form").hidden = packet.mode !== "owner";
    $("finish").disabled = packet.mode !== "owner";
    suggest(0);
    loadNotes().catch(() => {});
    await loadTransferTargets();
  }

  function showQuestion(question) {
    $("glance-question").textContent = question ? `“${question}”` : "（市民尚未说明具体问题）";
    $("suggest-for").textContent = question ? `（依据：${question.slice(0, 20)}${question.length > 20 ? "…" : ""}）` : "";
  }

  function appendMessage(conversationId, message) {
    const entry = mine.get(conversationId);
    if (message.author === "citizen" && entry) entry.item.preview = message.text.slice(0, 80);
    if (conversationId !== selected) {
      if (entry && message.author === "citizen") entry.unread += 1;
      renderMine();
      return;
    }
    const box = transcript();
    if (box.querySelector(`[data-id="${message.id}"]`)) return;
    const follow = atBottom() || message.author === "agent";  // one's own reply always shows
    if (message.author === "agent") typedAt = 0;
    box.append(messageNode(message));
    if (follow) toBottom();
    else $("new-below").hidden = false;
    if (message.author === "citizen") {
      $("citizen-typing").hidden = true;
      suggest();
    }
    renderMine();
  }

  function citizenTyping(conversationId) {
    if (conversationId !== selected) return;
    $("citizen-typing").hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { $("citizen-typing").hidden = true; }, 5000);
  }

  // -- confirmation before what cannot be taken back ----------------------------------------------------

  function confirmAction(text, okLabel) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-ok").focus();
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    });
  }

  // -- replying ---------------------------------------------------------------------------------------

  async function send(text, links = []) {
    if (!selected || !text.trim()) return false;
    try {
      const message = await api("POST", `/api/v1/console/conversations/${selected}/messages`, { text, links });
      appendMessage(selected, message);
      return true;
    } catch (e) {
      toast(e.message, "error");
      return false;
    }
  }

  // Articles for the citizen's last real question (the service skips "转人工" and the like).
  function suggest(delay = 250) {
    clearTimeout(suggestTimer);
    const conversationId = selected;
    suggestTimer = setTimeout(async () => {
      const box = $("suggestions");
      if (!conversationId) { box.replaceChildren(); return; }
      try {
        const found = await api("GET", `/api/v1/console/suggestions?conversation_id=${encodeURIComponent(conversationId)}`);
        if (conversationId !== selected) return;
        showQuestion(found.question);
        box.replaceChildren(...found.articles.map(suggestionCard));
        if (!found.articles.length) box.append(el("p", "muted", "暂无相关知识库文章。"));
      } catch { box.replaceChildren(); }
    }, delay);
  }

  function suggestionCard(article) {
    const card = el("div", "suggestion");
    card.append(el("p", "suggestion__title", `知识库：${article.title}`), el("p", "suggestion__text", article.summary));
    const actions = el("p", "suggestion__actions");
    actions.append(button("插入摘要", () => insert(article.summary), "btn btn--small"));
    const link = article.business_link;
    if (link && link.url) {
      actions.append(button(`发送办事链接：${link.title}`, async () => {
        if (!await confirmAction(`把“${link.title}”的办事链接发送给市民？发送后无法撤回。`, "发送链接")) return;
        send(`您可以通过下面的链接在线办理“${link.title}”：`, [{ title: link.title, url: link.url }]);
      }, "btn btn--small"));
    }
    card.append(actions);
    return card;
  }

  function insert(text) {
    const box = $("reply");
    const at = box.selectionStart ?? box.value.length;
    box.value = box.value.slice(0, at) + text + box.value.slice(box.selectionEnd ?? at);
    box.focus();
    box.selectionStart = box.selectionEnd = at + text.length;
  }

  // -- canned replies: the select, and "/" typed at the start of the reply -----------------------------

  async function loadCanned() {
    try {
      const { replies } = await api("GET", "/api/v1/console/canned");
      canned = replies;
      const select = $("canned");
      select.replaceChildren(el("option", "", "插入常用语…"), ...replies.map((r) => {
        const option = el("option", "", r.title);
        option.value = r.text;
        return option;
      }));
      select.firstChild.value = "";
    } catch { /* the console works without them */ }
  }

  function cannedQuery() {
    const match = /^\/(\S*)$/.exec($("reply").value);
    return match ? match[1] : null;
  }

  function cannedMatches(query) {
    return canned.filter((r) => !query || r.title.includes(query) || r.text.includes(query));
  }

  function renderCannedMenu() {
    const menu = $("canned-menu");
    const query = cannedQuery();
    const found = query === null ? [] : cannedMatches(query);
    if (!found.length) { menu.hidden = true; menu.replaceChildren(); return; }
    cannedPick = Math.min(cannedPick, found.length - 1);
    menu.replaceChildren(...found.map((reply, index) => {
      const li = el("li", "canned-menu__item");
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(index === cannedPick));
      li.append(el("span", "canned-menu__title", reply.title), el("span", "canned-menu__text", reply.text));
      li.addEventListener("mousedown", (event) => { event.preventDefault(); pickCanned(reply); });
      return li;
    }));
    menu.hidden = false;
  }

  function pickCanned(reply) {
    const box = $("reply");
    box.value = reply.text;
    box.focus();
    box.selectionStart = box.selectionEnd = box.value.length;
    $("canned-menu").hidden = true;
  }

  // Keys while the "/" menu is open; true when the key was the menu's.
  function cannedKey(event) {
    const menu = $("canned-menu");
    if (menu.hidden) return false;
    const found = cannedMatches(cannedQuery() || "");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      cannedPick = (cannedPick + (event.key === "ArrowDown" ? 1 : found.length - 1)) % found.length;
      renderCannedMenu();
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.isComposing) {
      pickCanned(found[cannedPick]);
    } else if (event.key === "Escape") {
      menu.hidden = true;
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  // -- private notes (never sent to the citizen) -------------------------------------------------------

  async function loadNotes() {
    const conversationId = selected;
    const { notes } = await api("GET", `/api/v1/console/conversations/${conversationId}/notes`);
    if (conversationId !== selected) return;
    $("notes-list").replaceChildren(...notes.map(noteNode));
    if (!notes.length) $("notes-list").append(el("li", "muted notes__none", "暂无备注。"));
  }

  function noteNode(note) {
    const li = el("li", "note");
    li.dataset.id = String(note.id);
    const meta = el("p", "note__meta");
    meta.append(el("span", "", note.author), el("time", "", time(note.created_at, true)));
    li.append(meta, el("p", "note__text", note.text));
    return li;
  }

  // 一点就能办: the citizen's own link for a business (their facts, the checklist, one button to the
  // form), made by the service and sent as this agent's message.
  async function loadBusinesses() {
    try {
      const { businesses } = await api("GET", "/api/v1/outreach/businesses");
      const select = $("link-business");
      select.replaceChildren(el("option", "", "选择业务…"), ...businesses.map((b) => {
        const option = el("option", "", b.name);
        option.value = b.key;
        return option;
      }));
      select.firstChild.value = "";
    } catch { /* the console works without them */ }
  }

  async function sendLink() {
    const select = $("link-business");
    const business = select.value;
    if (!selected || !business) { toast("请先选择要办理的业务。", "error"); return; }
    const name = select.selectedOptions[0] ? select.selectedOptions[0].textContent : business;
    if (!await confirmAction(`把“${name}”的办理链接发送给市民？发送后无法撤回。`, "发送链接")) return;
    try {
      const sent = await api("POST", `/api/v1/outreach/conversations/${selected}/links`, { business });
      appendMessage(selected, sent.message);
      select.value = "";
      toast("已发送办理链接。");
    } catch (e) {
      toast(e.message, "error");
    }
  }

  async function finishSelected() {
    if (!selected || $("finish").disabled) return;
    const conversationId = selected;
    if (!await confirmAction("结束本次人工服务？市民将转回智能客服，并收到评价邀请。", "结束会话")) return;
    try {
      await api("POST", `/api/v1/console/conversations/${conversationId}/finish`);
      mine.delete(conversationId);
      if (selected === conversationId) closeDetail();
      toast("会话已结束，已转回智能客服并邀请市民评价。");
    } catch (e) { toast(e.message, "error"); }
  }

  async function loadTransferTargets() {
    const select = $("transfer-target");
    try {
      // Only colleagues on duty and the skill groups: the full account list is for supervisors.
      const { agents, skills } = await api("GET", "/api/v1/console/agents/transfer-targets");
      const options = [el("option", "", "转接给…")];
      options[0].value = "";
      for (const agent of agents) {
        const option = el("option", "", `${agent.display_name}（${agent.load}/${agent.capacity}）`);
        option.value = `agent:${agent.id}`;
        options.push(option);
      }
      for (const skill of skills) {
        const option = el("option", "", `技能组：${skill}（回到队列）`);
        option.value = `skill:${skill}`;
        options.push(option);
      }
      select.replaceChildren(...options);
    } catch { /* keep the previous list */ }
  }

  // -- live events ------------------------------------------------------------------------------------

  // The whole pool and ticket list, as the socket sends them on connecting and after a resync.
  function replacePool(event) {
    pool.clear();
    for (const item of event.pool) pool.set(item.conversation_id, item);
    tickets.clear();
    for (const t of event.tickets) tickets.set(t.ticket_id, t);
    renderPool();
    renderTickets();
  }

  function onEvent(event) {
    switch (event.type) {
      case "hello":
        showDuty(event.duty);
        replacePool(event);
        loadMine().catch(() => {});
        break;
      case "pool.snapshot":
        replacePool(event);
        break;
      case "pool.added":
        addToPool(event.item);
        break;
      case "pool.removed":
        removedFromPool(event);
        break;
      case "tickets.changed":
        tickets.set(event.ticket.ticket_id, event.ticket);
        renderTickets();
        break;
      case "duty":
        if (event.agent_id === me.id) {
          showDuty(event.state === "off" ? null : event);
          if (event.reason === "expired") toast("上班时段已结束，您已自动下班。");
          if (event.reason === "inactive") toast("长时间未操作，您已自动下班。");
          if (event.reason === "rejected") toast("主管未批准您的上班申请。");
        }
        break;
      case "assigned":
        if (event.how === "transfer") toast(`同事${event.by ? `“${event.by}”` : ""}转来一个会话${event.note ? `：${event.note}` : "。"}`);
        if (event.how === "push") toast("一个等待过久的会话已分配给您。");
        loadMine().catch(() => {});
        break;
      case "released":
        mine.delete(event.conversation_id);
        if (event.conversation_id === selected) closeDetail();
        renderMine();
        if (event.reason === "left") toast("一位市民已结束会话。");
        break;
      case "message":
        appendMessage(event.conversation_id, event.message);
        break;
      case "citizen_typing":
        citizenTyping(event.conversation_id);
        break;
      case "session_expired":
        toast(event.message || "登录已过期。", "error");
        break;
      default:
        break;
    }
  }

  function onState(state) {
    $("conn").dataset.state = state;
    $("conn").textContent = state === "online" ? "已连接" : "重新连接中…";
  }

  // -- keyboard shortcuts -------------------------------------------------------------------------------

  function grabFirst() {
    const grab = $("pool-list").querySelector(".card__grab:not(:disabled)");
    if (!grab) { toast("目前没有等待接入的会话。"); return; }
    grab.click();
  }

  // Alt+letter by physical key (event.code), so an input method or a keyboard layout does not change it.
  const SHORTCUTS = {
    KeyG: grabFirst,
    KeyF: finishSelected,
    KeyN: () => { if (selected && !$("note-form").hidden) $("note-text").focus(); },
    Digit1: () => showView("mine"),
    Digit2: () => showView("waiting"),
    Digit3: () => showView("all"),
  };

  document.addEventListener("keydown", (event) => {
    if (!me || !event.altKey || event.ctrlKey || event.metaKey || $("confirm").open) return;
    const action = SHORTCUTS[event.code];
    if (!action) return;
    event.preventDefault();
    action();
  });

  // -- wiring -----------------------------------------------------------------------------------------

  function start(who) {
    me = who.agent;
    $("me-name").textContent = `${me.display_name}（${ROLE_NAMES[me.role] || me.role}）`;
    $("supervisor-link").hidden = !isSupervisor();
    showDuty(who.duty);
    let view = "all";
    try { view = localStorage.getItem(VIEW_KEY) || "all"; } catch { /* default */ }
    showView(view);
    loadCanned();
    loadBusinesses();
    Live.start(onEvent, onState);
  }

  for (const tab of document.querySelectorAll("#inbox-tabs [role=tab]")) {
    tab.addEventListener("click", () => showView(tab.dataset.view));
  }
  $("shortcuts-toggle").addEventListener("click", (event) => {
    $("shortcuts").hidden = !$("shortcuts").hidden;
    event.currentTarget.setAttribute("aria-expanded", String(!$("shortcuts").hidden));
  });
  $("duty-form").addEventListener("submit", (event) => {
    event.preventDefault();
    DeskAlerts.prepare();  // a click: the moment the browser lets the page make sound and ask to notify
    dutyAction(() => api("POST", "/api/v1/console/duty", { minutes: Number($("duty-minutes").value) }));
  });
  $("break-toggle").addEventListener("click", () =>
    dutyAction(() => api("POST", "/api/v1/console/duty/break", { on: duty.state === "on_duty" })));
  $("duty-end").addEventListener("click", () =>
    dutyAction(async () => { await api("DELETE", "/api/v1/console/duty"); return null; }));

  $("transcript").addEventListener("scroll", () => { if (atBottom()) $("new-below").hidden = true; });
  $("new-below").addEventListener("click", toBottom);

  $("composer").addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("reply");
    if (await send(box.value)) box.value = "";
  });
  $("reply").addEventListener("keydown", (event) => {
    if (cannedKey(event)) return;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    $("composer").requestSubmit();
  });
  $("reply").addEventListener("input", () => {
    cannedPick = 0;
    renderCannedMenu();
    const now = Date.now();
    // The citizen's page shows 正在输入 while the agent types a reply (not while picking a canned one).
    if (selected && $("reply").value.trim() && cannedQuery() === null && now - typedAt > 2500) {
      typedAt = now;
      Live.send({ type: "typing", conversation_id: selected });
    }
  });
  $("reply").addEventListener("blur", () => { setTimeout(() => { $("canned-menu").hidden = true; }, 150); });
  $("send-link").addEventListener("click", sendLink);
  $("canned").addEventListener("change", (event) => {
    if (event.target.value) insert(event.target.value);
    event.target.value = "";
  });
  $("note-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("note-text").value;
    if (!selected || !text.trim()) return;
    try {
      await api("POST", `/api/v1/console/conversations/${selected}/notes`, { text });
      $("note-text").value = "";
      await loadNotes();
    } catch (e) { toast(e.message, "error"); }
  });
  $("note-text").addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    $("note-form").requestSubmit();
  });
  $("transfer").addEventListener("click", async () => {
    const target = $("transfer-target").value;
    if (!selected || !target) { toast("请先选择转接对象。", "error"); return; }
    const [kind, value] = [target.slice(0, target.indexOf(":")), target.slice(target.indexOf(":") + 1)];
    const body = { note: $("transfer-note").value || null, ...(kind === "agent" ? { to_agent_id: Number(value) } : { to_skill: value }) };
    try {
      await api("POST", `/api/v1/console/conversations/${selected}/transfer`, body);
      mine.delete(selected);
      closeDetail();
      $("transfer-note").value = "";
      toast("已转接。");
    } catch (e) { toast(e.message, "error"); }
  });
  $("finish").addEventListener("click", finishSelected);

  // Live waiting times without asking the server.
  setInterval(() => {
    for (const node of document.querySelectorAll(".card__wait[data-since]")) {
      node.textContent = `等待 ${duration(since(node.dataset.since))}`;
    }
  }, 1000);

  Console.login(start);
})();
