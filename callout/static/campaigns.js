// The campaign page: prepare from an uploaded list (with the report of bad rows), dry run, approve,
// start, pause, resume, cancel; live progress and counts by outcome; a chart of outcomes over time with
// the reach rate (inline SVG drawn here: no library, nothing from a CDN); drill-down and CSV export.
// Every text from a list or a colleague is set as text, never as HTML.
"use strict";

(() => {
  const { api, el, button, toast, ApiError, svg, percent } = Console;
  const $ = (id) => document.getElementById(id);
  const STATES = { draft: "待审批", approved: "已审批", running: "进行中", paused: "已暂停", completed: "已完成", cancelled: "已取消" };
  const OUTCOMES = {
    answered: "已接听", machine: "答录机", busy: "忙线", no_answer: "无人接听", failed: "失败", cancelled: "已取消",
    opted_out: "拒绝来电", transferred: "转人工", suppressed: "免打扰", expired: "已过期",
    pending: "待呼叫", calling: "呼叫中", retry: "待重呼", sms_sent: "短信已发", sms_failed: "短信失败",
    wechat_sent: "微信已发", wechat_failed: "微信未达",
    sent: "已发送", unreachable: "无法送达", capped: "超出每周上限",
  };
  const CHANNELS = { voice: "电话", sms: "短信", wechat: "微信", push: "App推送", card: "待办卡片" };
  // The chart's stack, bottom up, and its colours (reached first, so the reach is read off the base).
  const SERIES = [
    ["answered", "#12b76a"], ["transferred", "#0e9384"], ["machine", "#7a5af8"], ["busy", "#f79009"],
    ["no_answer", "#fdb022"], ["failed", "#f04438"], ["opted_out", "#667085"], ["cancelled", "#98a2b3"],
  ];
  let charted = null;
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

  // "字段名=内容" lines → {field: text}; the service checks the names and the variables.
  function templateFields(text) {
    const fields = {};
    for (const line of text.split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) fields[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    return fields;
  }

  // A call has its voicemail and its fall-back after the last unanswered try; a message channel sends the
  // text once. The WeChat template's fields: for a WeChat campaign, or a call's WeChat fall-back.
  function showChannel() {
    const channel = $("c-channel").value;
    $("c-voice").hidden = channel !== "voice";
    $("c-wechat").hidden = channel === "voice" ? $("c-fallback").value === "sms" : channel !== "wechat";
  }
  $("c-channel").addEventListener("change", showChannel);
  $("c-fallback").addEventListener("change", showChannel);

  $("new-campaign").addEventListener("submit", async (event) => {
    event.preventDefault();
    const channel = $("c-channel").value;
    const settings = {
      name: $("c-name").value.trim(), channel, message: $("c-message").value,
      window: { start: $("c-start").value, end: $("c-end").value },
      max_attempts: Number($("c-attempts").value), retry_minutes: Number($("c-retry").value),
      calls_per_second: Number($("c-cps").value),
    };
    if ($("c-everyday").checked) {
      settings.days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
      settings.call_on_holidays = true;
    }
    if (channel === "voice") {
      settings.voicemail_message = $("c-voicemail").value.trim() || null;
      settings.sms_message = $("c-sms").value.trim() || null;
      settings.fallback = $("c-fallback").value;
    }
    if (channel === "wechat" || (channel === "voice" && settings.fallback !== "sms")) {
      settings.wechat_template_id = $("c-template").value.trim() || null;
      settings.wechat_data = templateFields($("c-wechat-data").value);
    }
    const form = new FormData();
    form.append("campaign", JSON.stringify(settings));
    form.append("file", $("c-file").files[0]);
    try {
      const made = await upload(form);
      showReport(made.rejected, `已创建：${made.accepted} 人可呼叫，其中 ${made.suppressed} 人在免打扰名单中；${made.rejected.length} 行有问题，不会呼叫：`);
      toast("外呼任务已创建，等待另一位主管审批。");
      event.target.reset();
      showChannel();
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

  function label(start, bucket) {
    const local = start.replace("T", " ").slice(0, 16);
    return bucket === "day" ? local.slice(5, 10) : local.slice(11, 16);
  }

  // Stacked bars of calls ended per bucket by outcome, and the bucket's reach rate as a line (right axis).
  function plot(timeline) {
    const W = 640, H = 240, left = 36, right = 40, top = 10, bottom = 28;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "外呼结果趋势" });
    const buckets = timeline.buckets;
    const most = Math.max(1, ...buckets.map((b) => b.calls));
    const width = (W - left - right) / Math.max(1, buckets.length);
    const y = (n) => top + (H - top - bottom) * (1 - n / most);
    root.append(svg("line", { class: "chart__axis", x1: left, y1: H - bottom, x2: W - right, y2: H - bottom }));
    root.append(svg("text", { x: left - 4, y: top + 8, "text-anchor": "end" }, String(most)));
    root.append(svg("text", { x: left - 4, y: H - bottom, "text-anchor": "end" }, "0"));
    root.append(svg("text", { x: W - right + 4, y: top + 8 }, "100%"));
    const step = Math.max(1, Math.ceil(buckets.length / 8));
    const points = [];
    buckets.forEach((bucket, i) => {
      const x = left + i * width;
      let base = 0;
      const group = svg("g", { "data-start": bucket.start });
      group.append(svg("title", {}, `${bucket.start.replace("T", " ").slice(0, 16)}：${bucket.calls} 通，接通率 ${percent(bucket.reach_rate)}`));
      for (const [key, colour] of SERIES) {
        const n = bucket.counts[key] || 0;
        if (!n) continue;
        group.append(svg("rect", { class: `bar bar--${key}`, x: x + width * 0.15, width: Math.max(1, width * 0.7), y: y(base + n), height: y(base) - y(base + n), fill: colour }));
        base += n;
      }
      root.append(group);
      if (i % step === 0) root.append(svg("text", { x: x + width / 2, y: H - bottom + 14, "text-anchor": "middle" }, label(bucket.start, timeline.bucket)));
      if (bucket.reach_rate !== null) points.push(`${x + width / 2},${top + (H - top - bottom) * (1 - bucket.reach_rate)}`);
    });
    if (points.length) root.append(svg("polyline", { class: "chart__reach-line", points: points.join(" "), fill: "none", stroke: "#1570ef", "stroke-width": 2 }));
    return root;
  }

  async function chart(campaign) {
    charted = campaign;
    $("chart").hidden = false;
    $("chart-title").textContent = `趋势：${campaign.name}`;
    await drawChart();
  }

  async function drawChart() {
    if (!charted) return;
    const timeline = await api("GET", `/api/v1/campaigns/${charted.id}/timeline?bucket=${encodeURIComponent($("chart-bucket").value)}`);
    $("chart-reach").textContent = `接通率 ${percent(timeline.reach_rate)}（已结束 ${timeline.settled} 人，接通或转人工 ${timeline.reached} 人）`;
    $("chart-plot").replaceChildren(timeline.buckets.length ? plot(timeline) : el("p", "muted", "还没有结束的通话。"));
    $("chart-legend").replaceChildren(...SERIES.map(([key, colour]) => {
      const li = el("li");
      const swatch = el("span", "chart__swatch");
      swatch.style.background = colour;
      li.append(swatch, document.createTextNode(OUTCOMES[key]));
      return li;
    }), el("li", "", "蓝线：每段接通率"));
  }

  $("chart-bucket").addEventListener("change", () => drawChart().catch((e) => toast(e.message, "error")));

  function card(campaign) {
    const c = campaign.counts;
    const li = el("li", "card");
    li.dataset.id = campaign.id;
    const head = el("div", "card__head");
    const state = el("span", "state", STATES[campaign.status] || campaign.status);
    state.dataset.state = campaign.status;
    head.append(el("strong", "", campaign.name), el("span", "state", CHANNELS[campaign.channel] || campaign.channel), state);
    const bar = el("div", "progress");
    const done = el("div", "progress__done");
    done.style.width = `${c.total ? Math.round((100 * c.done) / c.total) : 0}%`;
    bar.append(done);
    bar.title = `${c.done} / ${c.total}`;
    const counts = el("div", "counts");
    counts.append(el("span", "", `已完成 ${c.done}/${c.total}`));
    for (const key of ["pending", "calling", "retry", "answered", "machine", "busy", "no_answer", "failed", "opted_out", "transferred", "suppressed", "sent", "unreachable", "capped", "sms_sent", "wechat_sent"]) {
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
    actions.append(button("趋势", () => chart(campaign).catch((e) => toast(e.message, "error")), "btn btn--small"));
    const link = el("a", "btn btn--small", "导出CSV");
    link.href = `/api/v1/campaigns/${campaign.id}/export.csv`;
    actions.append(link);
    const funnelLink = el("a", "btn btn--small", "转化漏斗");
    funnelLink.href = `/console/funnel?campaign_id=${encodeURIComponent(campaign.id)}`;
    actions.append(funnelLink);
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

  setInterval(() => {
    if (me && !$("campaigns").hidden) {
      refresh().catch(() => {});
      drawChart().catch(() => {});
    }
  }, 2000);
  Console.login(start);
})();
