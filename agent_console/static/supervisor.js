// The supervisor view: live pool and roster, alerts, duty approvals, per-agent figures, the audit log,
// any live conversation read-only, and (for admins) accounts.
"use strict";

(() => {
  const { api, el, button, time, duration, toast, Live, messageNode, CHANNELS, REASONS, DUTY } = Console;
  const $ = (id) => document.getElementById(id);
  const ROLES = { agent: "客服", campaigner: "外呼专员", supervisor: "主管", admin: "管理员" };
  const STATES = { waiting: "排队中", assigned: "接待中" };
  let me = null;
  let watching = null;
  let refreshTimer = 0;

  function cells(row, values) {
    for (const value of values) {
      const td = el("td");
      if (value instanceof Node) td.append(value); else td.textContent = value === null || value === undefined ? "" : String(value);
      row.append(td);
    }
    return row;
  }

  async function refreshLive() {
    const live = await api("GET", "/api/v1/console/stats/live");
    $("fig-pool").textContent = String(live.pool_length);
    $("fig-wait").textContent = duration(live.longest_wait_s);
    $("fig-duty").textContent = String(live.agents.filter((a) => a.state === "on_duty").length);
    const level = live.service_level;
    $("fig-sl").textContent = level.share === null ? "–" : `${Math.round(level.share * 100)}%`;
    $("fig-sl-label").textContent = `服务水平（${level.within_s}秒内接入，今日${level.counted}个）`;
    $("roster").replaceChildren(...live.agents.map((a) => cells(el("tr"), [
      a.display_name, DUTY[a.state] || a.state, `${a.load}/${a.capacity}`, a.ends_at ? time(a.ends_at) : "",
      a.state === "pending" ? "" : button("结束值班", async () => {
        try { await api("POST", `/api/v1/console/duty/agents/${a.id}/end`); await refreshLive(); }
        catch (e) { toast(e.message, "error"); }
      }, "btn btn--small"),
    ])));
    $("live-none").hidden = live.conversations.length > 0;
    $("live-conversations").replaceChildren(...live.conversations.map((c) => cells(el("tr"), [
      CHANNELS[c.channel] || c.channel, STATES[c.state] || c.state, REASONS[c.reason] || c.reason, c.agent || "",
      button("查看", () => watch(c.conversation_id), "btn btn--small"),
    ])));
  }

  async function refreshRequests() {
    const { auto_approve: automatic, requests } = await api("GET", "/api/v1/console/duty/requests");
    $("auto-approve").checked = automatic;
    $("requests-none").hidden = requests.length > 0;
    $("requests").replaceChildren(...requests.map((r) => {
      const actions = el("span");
      actions.append(
        button("批准", () => decide(r.shift_id, true), "btn btn--small"),
        button("驳回", () => decide(r.shift_id, false), "btn btn--small"),
      );
      return cells(el("tr"), [r.display_name, `${r.minutes}分钟`, time(r.requested_at, true), actions]);
    }));
  }

  async function decide(shiftId, approve) {
    try {
      await api("POST", `/api/v1/console/duty/${shiftId}/decision`, { approve });
      await Promise.all([refreshRequests(), refreshLive()]);
    } catch (e) { toast(e.message, "error"); }
  }

  function localDay(offsetDays = 0) {
    const now = new Date(Date.now() + offsetDays * 86400000);
    return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(now); // YYYY-MM-DD
  }

  // A day typed as 年-月-日 (2026-12-01; 2026-12-1 and 2026/12/01 are taken too): the ISO form, or null.
  function parseDay(text) {
    const match = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(text.trim());
    if (!match) return null;
    const [year, month, day] = match.slice(1).map(Number);
    const date = new Date(Date.UTC(year, month - 1, day));
    if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
    return `${year}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
  }

  function dayInput(id, fallback) {
    const input = $(id);
    if (!input.value.trim()) { input.value = fallback; return fallback; }
    const day = parseDay(input.value);
    input.setAttribute("aria-invalid", String(day === null));
    if (day) input.value = day;
    return day;
  }

  async function refreshFigures() {
    const since = dayInput("period-since", localDay());
    const until = dayInput("period-until", localDay());
    if (!since || !until) { $("period-error").textContent = "日期格式应为 年-月-日，例如 2026-12-01。"; return; }
    if (since > until) { $("period-error").textContent = "开始日期不能晚于结束日期。"; return; }
    $("period-error").textContent = "";
    const untilNext = new Date(`${until}T00:00:00+08:00`).getTime() + 86400000;
    const query = `since=${encodeURIComponent(`${since}T00:00:00+08:00`)}&until=${encodeURIComponent(new Date(untilNext).toISOString())}`;
    try {
      const { agents } = await api("GET", `/api/v1/console/stats/agents?${query}`);
      const seconds = (s) => (s === null ? "–" : duration(s));
      $("figures").replaceChildren(...agents.map((a) => cells(el("tr"), [
        a.display_name, a.grabs, a.pushed, seconds(a.first_response_s), seconds(a.handling_s), a.finished, a.transfers,
        a.rating === null ? "–" : a.rating.toFixed(1),
      ])));
    } catch (e) { toast(e.message, "error"); }
  }

  async function searchAudit() {
    const params = new URLSearchParams();
    for (const [key, id] of [["actor", "audit-actor"], ["action", "audit-action"], ["target", "audit-target"]]) {
      if ($(id).value.trim()) params.set(key, $(id).value.trim());
    }
    try {
      const { entries } = await api("GET", `/api/v1/console/audit?${params}`);
      $("audit").replaceChildren(...entries.map((e) => cells(el("tr"), [
        time(e.at, true), e.actor, e.action, e.target || "", JSON.stringify(e.detail),
      ])));
    } catch (e) { toast(e.message, "error"); }
  }

  async function watch(conversationId) {
    try {
      const packet = await api("GET", `/api/v1/console/conversations/${conversationId}`);
      if (watching) Live.send({ type: "unwatch", conversation_id: watching });
      watching = conversationId;
      Live.send({ type: "watch", conversation_id: conversationId });
      $("readonly").hidden = false;
      const agent = packet.handoff && packet.handoff.agent ? ` · 客服 ${packet.handoff.agent.display_name}` : "";
      $("readonly-title").textContent = `会话（只读）· ${CHANNELS[packet.conversation.channel] || packet.conversation.channel}${agent}`;
      $("readonly-transcript").replaceChildren(...packet.transcript.map(messageNode));
      $("readonly-transcript").scrollTop = $("readonly-transcript").scrollHeight;
    } catch (e) { toast(e.message, "error"); }
  }

  async function refreshAccounts() {
    const { agents } = await api("GET", "/api/v1/console/agents");
    $("account-list").replaceChildren(...agents.map((a) => cells(el("tr"), [
      a.username, displayNameCell(a), ROLES[a.role] || a.role, a.capacity, a.skills.join("、"), DUTY[a.duty] || a.duty,
    ])));
  }

  // The name citizens see ("人工客服 客服 0123 王"): an admin renames in place.
  function displayNameCell(agent) {
    const cell = el("span", "rename");
    const input = el("input", "rename__input");
    input.value = agent.display_name;
    input.maxLength = 100;
    input.setAttribute("aria-label", `${agent.username} 的显示名`);
    const save = button("保存", async () => {
      const name = input.value.trim();
      if (!name) { toast("显示名不能为空。", "error"); return; }
      if (name === agent.username) { toast("显示名不要用登录名：市民会看到它。", "error"); return; }
      try {
        await api("PATCH", `/api/v1/console/agents/${agent.id}`, { display_name: name });
        toast(`已改为“${name}”。`);
        await refreshAccounts();
      } catch (e) { toast(e.message, "error"); }
    }, "btn btn--small");
    cell.append(input, save);
    return cell;
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => refreshLive().catch(() => {}), 300); // many events in a burst: one refresh
  }

  function onEvent(event) {
    switch (event.type) {
      case "hello":
      case "pool.added":
      case "pool.removed":
      case "stats.changed":
        scheduleRefresh();
        break;
      case "duty":
        scheduleRefresh();
        refreshRequests().catch(() => {});
        break;
      case "alert": {
        const li = el("li", "", `${time(new Date().toISOString())} ${event.message}`);
        for (const none of $("alerts").querySelectorAll(".alerts__none")) none.remove();
        $("alerts").prepend(li);
        toast(event.message, "error");
        scheduleRefresh();
        break;
      }
      case "message":
        if (event.conversation_id === watching) {
          const box = $("readonly-transcript");
          if (!box.querySelector(`[data-id="${event.message.id}"]`)) box.append(messageNode(event.message));
          box.scrollTop = box.scrollHeight;
        }
        break;
      default:
        break;
    }
  }

  function start(who) {
    me = who.agent;
    $("me-name").textContent = `${me.display_name}（${ROLES[me.role] || me.role}）`;
    const allowed = me.role === "supervisor" || me.role === "admin";
    $("forbidden").hidden = allowed;
    $("sup").hidden = !allowed;
    if (!allowed) return;
    SupervisorTabs.start(me.role);
    Promise.all([refreshLive(), refreshRequests(), refreshFigures(), searchAudit()]).catch((e) => toast(e.message, "error"));
    if (me.role === "admin") refreshAccounts().catch(() => {});
    Live.start(onEvent, (state) => {
      $("conn").dataset.state = state;
      $("conn").textContent = state === "online" ? "已连接" : "重新连接中…";
    });
  }

  $("auto-approve").addEventListener("change", async (event) => {
    try { await api("PUT", "/api/v1/console/duty/policy", { auto_approve: event.target.checked }); }
    catch (e) { toast(e.message, "error"); event.target.checked = !event.target.checked; }
  });
  $("period").addEventListener("submit", (event) => { event.preventDefault(); refreshFigures(); });
  $("audit-form").addEventListener("submit", (event) => { event.preventDefault(); searchAudit(); });
  $("readonly-close").addEventListener("click", () => {
    if (watching) Live.send({ type: "unwatch", conversation_id: watching });
    watching = null;
    $("readonly").hidden = true;
  });
  $("account-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const skills = $("acc-skills").value.split(/[,，、]/).map((s) => s.trim()).filter(Boolean);
    try {
      await api("POST", "/api/v1/console/agents", {
        username: $("acc-username").value.trim(), password: $("acc-password").value,
        display_name: $("acc-name").value.trim() || null, role: $("acc-role").value,
        capacity: Number($("acc-capacity").value), skills,
      });
      toast("账号已创建。");
      event.target.reset();
      await refreshAccounts();
    } catch (e) { toast(e.message, "error"); }
  });
  setInterval(() => { if (me) refreshLive().catch(() => {}); }, 5000);

  Console.login(start);
})();
