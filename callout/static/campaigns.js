// The campaign page: prepare from an uploaded list (with the report of bad rows), dry run, approve,
// start, pause, resume, cancel; live progress and counts by outcome; drill-down and CSV export.
// Every text from a list or a colleague is set as text, never as HTML.
"use strict";

(() => {
  const { api, el, button, toast, ApiError } = Console;
  const $ = (id) => document.getElementById(id);
  const STATES = { draft: "待审批", approved: "已审批", running: "进行中", paused: "已暂停", completed: "已完成", cancelled: "已取消" };
  const OUTCOMES = {
    answered: "已接听", machine: "答录机", busy: "忙线", no_answer: "无人接听", failed: "失败", cancelled: "已取消",
    opted_out: "拒绝来电", transferred: "转人工", suppressed: "免打扰", expired: "已过期",
    pending: "待呼叫", calling: "呼叫中", retry: "待重呼", sms_sent: "短信已发", sms_failed: "短信失败",
  };
  const ROLES = { agent: "客服", campaigner: "外呼专员", supervisor: "主管", admin: "管理员" };
  let me = null;

  function csrf() {
    const pair = document.cookie.split("; ").find((c) => c.startsWith("hpf_console_csrf="));
    return pair ? decodeURIComponent(pair.slice("hpf_console_csrf=".length)) : "";
  }

  async function upload(form) {
    const response = await fetch("/api/v1/campaigns/import", {
      method: "POST", body: form, credentials: "same-origin", headers: { "X-CSRF-Token": csrf(), Accept: "application/json" },
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  function showReport(rejected, summary) {
    $("report").hidden = false;
    $("report-summary").textContent = summary;
    $("report-rows").replaceChildren(...rejected.map((row) => {
      const tr = el("tr");
      tr.append(el("td", "", row.row), el("td", "", row.phone), el("td", "", row.reason));
      return tr;
    }));
  }

  $("new-campaign").addEventListener("submit", async (event) => {
    event.preventDefault();
    const settings = {
      name: $("c-name").value.trim(), channel: "voice", message: $("c-message").value,
      voicemail_message: $("c-voicemail").value.trim() || null, sms_message: $("c-sms").value.trim() || null,
      window: { start: $("c-start").value, end: $("c-end").value },
      max_attempts: Number($("c-attempts").value), retry_minutes: Number($("c-retry").value),
      calls_per_second: Number($("c-cps").value),
    };
    if ($("c-everyday").checked) {
      settings.days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
      settings.call_on_holidays = true;
    }
    const form = new FormData();
    form.append("campaign", JSON.stringify(settings));
    form.append("file", $("c-file").files[0]);
    try {
      const made = await upload(form);
      showReport(made.rejected, `已创建：${made.accepted} 人可呼叫，其中 ${made.suppressed} 人在免打扰名单中；${made.rejected.length} 行有问题，不会呼叫：`);
      toast("外呼任务已创建，等待另一位主管审批。");
      event.target.reset();
      await refresh();
    } catch (e) {
      if (e.body && e.body.rejected) showReport(e.body.rejected, e.message);
      toast(e.message, "error");
    }
  });

  async function act(id, action) {
    try {
      await api("POST", `/api/v1/campaigns/${id}/${action}`);
      await refresh();
    } catch (e) { toast(e.message, "error"); }
  }

  function table(title, head, rows) {
    $("detail").hidden = false;
    $("detail-title").textContent = title;
    const tr = el("tr");
    tr.append(...head.map((h) => el("th", "", h)));
    $("detail-head").replaceChildren(tr);
    $("detail-rows").replaceChildren(...rows.map((cells) => {
      const row = el("tr");
      row.append(...cells.map((c) => el("td", "", c)));
      return row;
    }));
  }

  async function dryRun(campaign) {
    try {
      const plan = await api("GET", `/api/v1/campaigns/${campaign.id}/dry-run?limit=100`);
      table(`预演：${campaign.name}（共 ${plan.total} 人，显示 ${plan.shown} 人）`, ["号码", "姓名", "预计时间", "内容"],
        plan.contacts.map((c) => [c.phone, c.name, c.at ? c.at.slice(0, 16).replace("T", " ") : "不在日期内", c.text]));
    } catch (e) { toast(e.message, "error"); }
  }

  async function drill(campaign) {
    try {
      const page = await api("GET", `/api/v1/campaigns/${campaign.id}/recipients?limit=200`);
      table(`明细：${campaign.name}（共 ${page.total} 人）`, ["行", "号码", "姓名", "状态", "结果", "次数"],
        page.recipients.map((r) => [r.row, r.phone, r.name, OUTCOMES[r.state] || r.state, OUTCOMES[r.outcome] || r.outcome || "", r.attempts]));
    } catch (e) { toast(e.message, "error"); }
  }

  function card(campaign) {
    const c = campaign.counts;
    const li = el("li", "card");
    li.dataset.id = campaign.id;
    const head = el("div", "card__head");
    const state = el("span", "state", STATES[campaign.status] || campaign.status);
    state.dataset.state = campaign.status;
    head.append(el("strong", "", campaign.name), state);
    const bar = el("div", "progress");
    const done = el("div", "progress__done");
    done.style.width = `${c.total ? Math.round((100 * c.done) / c.total) : 0}%`;
    bar.append(done);
    bar.title = `${c.done} / ${c.total}`;
    const counts = el("div", "counts");
    counts.append(el("span", "", `已完成 ${c.done}/${c.total}`));
    for (const key of ["pending", "calling", "retry", "answered", "machine", "busy", "no_answer", "failed", "opted_out", "transferred", "suppressed", "sms_sent"]) {
      if (c[key]) counts.append(el("span", `count-${key}`, `${OUTCOMES[key]} ${c[key]}`));
    }
    const actions = el("div", "actions");
    const may = me.role === "supervisor" || me.role === "admin";
    actions.append(button("预演", () => dryRun(campaign), "btn btn--small"));
    if (campaign.status === "draft" && may && campaign.created_by !== me.id) actions.append(button("审批", () => act(campaign.id, "approve"), "btn btn--small btn--primary"));
    if (campaign.status === "approved") actions.append(button("开始", () => act(campaign.id, "start"), "btn btn--small btn--primary"));
    if (campaign.status === "running") actions.append(button("暂停", () => act(campaign.id, "pause"), "btn btn--small"));
    if (campaign.status === "paused") actions.append(button("继续", () => act(campaign.id, "resume"), "btn btn--small"));
    if (!["completed", "cancelled"].includes(campaign.status)) actions.append(button("取消", () => act(campaign.id, "cancel"), "btn btn--small btn--danger"));
    actions.append(button("明细", () => drill(campaign), "btn btn--small"));
    const link = el("a", "btn btn--small", "导出CSV");
    link.href = `/api/v1/campaigns/${campaign.id}/export.csv`;
    actions.append(link);
    li.append(head, bar, counts, actions);
    return li;
  }

  async function refresh() {
    const { campaigns } = await api("GET", "/api/v1/campaigns");
    $("list").replaceChildren(...campaigns.map(card));
  }

  function start(who) {
    me = who.agent;
    $("me-name").textContent = `${me.display_name}（${ROLES[me.role] || me.role}）`;
    const allowed = ["campaigner", "supervisor", "admin"].includes(me.role);
    $("forbidden").hidden = allowed;
    $("campaigns").hidden = !allowed;
    if (allowed) refresh().catch((e) => toast(e.message, "error"));
  }

  setInterval(() => { if (me && !$("campaigns").hidden) refresh().catch(() => {}); }, 2000);
  Console.login(start);
})();
