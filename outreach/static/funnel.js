// The funnel page: filters, one block per campaign/segment/channel/business with a bar per stage (inline
// SVG drawn here: no library, nothing from a CDN), conversions, and the CSV/XLSX export links.
// Campaign names and segment keys come from colleagues: set as text, never as HTML.
"use strict";

(() => {
  const { api, el, toast, svg, percent } = Console;
  const $ = (id) => document.getElementById(id);
  const STAGES = [
    ["sent", "已发送", "#1570ef"], ["delivered", "已送达", "#2e90fa"], ["opened", "已打开", "#0e9384"],
    ["checklist", "已完成自查", "#12b76a"], ["handed_off", "已转办理", "#f79009"], ["completed", "已办结", "#7a5af8"],
  ];
  const CHANNELS = { sms: "短信", wechat: "微信", push: "App 推送", card: "个人卡片", voice: "外呼电话" };
  const ROLES = { agent: "客服", campaigner: "外呼专员", supervisor: "主管", admin: "管理员" };
  let me = null;

  function query() {
    const params = new URLSearchParams();
    const add = (name, value) => { if (value) params.set(name, value); };
    add("campaign_id", $("f-campaign").value.trim());
    add("segment", $("f-segment").value.trim());
    add("channel", $("f-channel").value);
    add("business", $("f-business").value.trim());
    add("since", $("f-since").value);
    add("until", $("f-until").value);
    const groups = [...document.querySelectorAll('input[name="group"]:checked')].map((box) => box.value);
    params.set("group_by", groups.join(","));
    return params;
  }

  function exportLinks() {
    for (const format of ["csv", "xlsx"]) {
      const params = query();
      params.set("format", format);
      $(`export-${format}`).href = `/api/v1/outreach/funnel/export?${params}`;
    }
  }

  function label(row, groups) {
    const parts = [];
    if (groups.includes("campaign_id")) {
      parts.push(row.campaign_id === null ? "（非任务：坐席或机器人发出的链接）" : (row.campaign ? `任务 #${row.campaign_id} ${row.campaign}` : `任务 #${row.campaign_id}`));
    }
    if (groups.includes("segment")) parts.push(`人群：${row.segment || "—"}`);
    if (groups.includes("channel")) parts.push(`渠道：${CHANNELS[row.channel] || row.channel || "—"}`);
    if (groups.includes("business")) parts.push(`业务：${row.business || "—"}`);
    return parts.join(" · ");
  }

  // One bar per stage, as long as its count against the row's largest; beside it the count, the step
  // conversion (over the stage before) and, in the tooltip, the conversion over sent.
  function bars(row) {
    const W = 640, rowH = 22, left = 84, right = 170, H = STAGES.length * rowH + 4;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "各阶段人数" });
    const most = Math.max(1, ...STAGES.map(([key]) => row.counts[key] || 0));
    STAGES.forEach(([key, title, colour], i) => {
      const n = row.counts[key] || 0;
      const y = 2 + i * rowH;
      const group = svg("g", { class: "funnel__stage", "data-stage": key, "data-count": n });
      const step = i ? `，较上一阶段 ${percent(row.step[key])}` : "";
      const overall = i ? `，占已发送 ${percent(row.overall[key])}` : "";
      group.append(svg("title", {}, `${title}：${n} 人${step}${overall}`));
      group.append(svg("text", { x: left - 6, y: y + 15, "text-anchor": "end" }, title));
      group.append(svg("rect", { class: "bar", x: left, y: y + 3, height: rowH - 6, width: Math.max(n ? 2 : 0, (W - left - right) * n / most), fill: colour, rx: 2 }));
      group.append(svg("text", { x: W - right + 6, y: y + 15 }, i ? `${n}（${percent(row.step[key])}）` : String(n)));
      root.append(group);
    });
    return root;
  }

  function block(row, groups, total) {
    const node = el("article", total ? "funnel__row funnel__row--total" : "funnel__row");
    node.append(el("p", "funnel__label", total ? "合计" : label(row, groups)), bars(row),
      el("p", "muted funnel__rate", `打开率 ${percent(row.overall.opened)} · 办结率 ${percent(row.overall.completed)}（占已发送）`));
    return node;
  }

  async function refresh() {
    exportLinks();
    const data = await api("GET", `/api/v1/outreach/funnel?${query()}`);
    const rows = data.rows.map((row) => block(row, data.group_by, false));
    $("summary").textContent = data.rows.length
      ? `共 ${data.rows.length} 组；办结 ${data.total.counts.completed} 人，占已发送 ${percent(data.total.overall.completed)}。括号内为较上一阶段的转化率。`
      : "没有符合条件的记录。";
    $("rows").replaceChildren(...(data.rows.length > 1 ? [block(data.total, data.group_by, true)] : []), ...rows);
  }

  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    refresh().catch((e) => toast(e.message, "error"));
  });
  $("filters").addEventListener("change", exportLinks);

  $("legend").replaceChildren(...STAGES.map(([, title, colour]) => {
    const li = el("li");
    const swatch = el("span", "funnel__swatch");
    swatch.style.background = colour;
    li.append(swatch, document.createTextNode(title));
    return li;
  }));

  // Opened from a campaign's card (/console/funnel?campaign_id=…): that campaign's funnel.
  const asked = new URLSearchParams(location.search).get("campaign_id");
  if (asked && /^[0-9]{1,12}$/.test(asked)) $("f-campaign").value = asked;

  function start(who) {
    me = who.agent;
    $("me-name").textContent = `${me.display_name}（${ROLES[me.role] || me.role}）`;
    const allowed = ["campaigner", "supervisor", "admin"].includes(me.role);
    $("forbidden").hidden = me.role === "supervisor" || me.role === "admin";
    $("funnel").hidden = !allowed;
    if (me.role === "supervisor" || me.role === "admin" || (allowed && $("f-campaign").value)) {
      refresh().catch((e) => toast(e.message, "error"));
    }
  }

  Console.login(start);
})();
