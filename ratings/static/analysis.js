// 好差评数据分析: filters with dates typed as yyyy-mm-dd, the figures by period, business, channel, department
// and agent, reasons for bad ratings and rectification, drawn as inline SVG by this page (no library,
// nothing from a CDN). Names of businesses, departments and agents are set as text, never as HTML.
"use strict";

(() => {
  const { api, el, toast, svg, percent } = Console;
  const $ = (id) => document.getElementById(id);
  // 5 非常满意 … 1 非常不满意, in the order the stacked bars show them.
  const LEVELS = [["5", "非常满意", "#067647"], ["4", "满意", "#47cd89"], ["3", "基本满意", "#fdb022"],
    ["2", "不满意", "#f97066"], ["1", "非常不满意", "#b42318"]];
  const DATE = /^\d{4}-\d{2}-\d{2}$/;
  const MONTH = /^\d{4}-\d{2}$/;
  const ROLES = { agent: "客服", campaigner: "外呼专员", supervisor: "主管", admin: "管理员" };

  const pad = (n) => String(n).padStart(2, "0");
  // Today in the centre's time (Asia/Shanghai), whatever the browser's zone.
  function today() {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit" })
      .format(new Date());
    return parts;  // en-CA writes yyyy-mm-dd
  }
  function shift(iso, days) {
    const d = new Date(`${iso}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }
  function monthRange(offset) {
    const [y, m] = today().split("-").map(Number);
    const first = new Date(Date.UTC(y, m - 1 + offset, 1));
    const last = new Date(Date.UTC(y, m + offset, 0));
    return [first.toISOString().slice(0, 10), last.toISOString().slice(0, 10)];
  }
  function validDate(text) {
    if (!DATE.test(text)) return false;
    const d = new Date(`${text}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
  }

  function params() {
    const p = new URLSearchParams();
    const from = $("f-from").value.trim(), to = $("f-to").value.trim();
    if (from && !validDate(from)) throw new Error("开始日期请按 yyyy-mm-dd 填写，例如 2026-11-01。");
    if (to && !validDate(to)) throw new Error("结束日期请按 yyyy-mm-dd 填写，例如 2026-11-30。");
    if (from) p.set("from", from);
    if (to) p.set("to", to);
    for (const [name, id] of [["channel", "f-channel"], ["business", "f-business"], ["department", "f-department"]]) {
      const value = $(id).value.trim();
      if (value) p.set(name, value);
    }
    return p;
  }

  function reportLinks() {
    const month = $("f-month").value.trim();
    for (const format of ["xlsx", "pdf"]) {
      const link = $(`report-${format}`);
      if (MONTH.test(month)) {
        link.href = `/api/v1/console/ratings/report?month=${month}&format=${format}`;
        link.removeAttribute("aria-disabled");
      } else {
        link.removeAttribute("href");
        link.setAttribute("aria-disabled", "true");
      }
    }
  }

  function card(title, value, note) {
    const node = el("div", "ra__card");
    node.append(el("p", "ra__card-title", title), el("p", "ra__card-value", value));
    if (note) node.append(el("p", "muted", note));
    return node;
  }

  // One row per group: its label, a bar split by level (share of its ratings), and the satisfaction.
  function stacked(rows, emptyText) {
    if (!rows.length) return el("p", "muted", emptyText || "该时段没有评价。");
    const W = 460, rowH = 26, left = 110, right = 100, H = rows.length * rowH + 4;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "各组满意度与评价分布" });
    rows.forEach((row, i) => {
      const y = 2 + i * rowH;
      const g = svg("g", { class: "ra__row" });
      const label = row.label.length > 8 ? `${row.label.slice(0, 7)}…` : row.label;
      g.append(svg("title", {}, `${row.label}：${row.count} 条评价，满意度 ${percent(row.satisfaction)}，好评率 ${percent(row.good)}` +
        (row.marked ? `，申诉撤销 ${row.marked} 条` : "")));
      g.append(svg("text", { x: left - 6, y: y + 17, "text-anchor": "end" }, label));
      let x = left;
      for (const [level, , colour] of LEVELS) {
        const n = row.levels[level] || 0;
        const w = row.count ? (W - left - right) * n / row.count : 0;
        if (w > 0) g.append(svg("rect", { x, y: y + 4, width: w, height: rowH - 8, fill: colour, "data-level": level }));
        x += w;
      }
      g.append(svg("text", { x: W - right + 6, y: y + 17, class: "ra__value" },
        `${percent(row.satisfaction)}（${row.count}条）`));
      root.append(g);
    });
    return root;
  }

  // Satisfaction per day/week/month as a line, the number of ratings as bars behind it.
  function trend(rows) {
    const counted = rows.filter((r) => r.count > 0);
    if (!counted.length) return el("p", "muted", "该时段没有评价。");
    const W = 680, H = 220, left = 44, right = 44, top = 12, bottom = 36;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "满意度走势" });
    const most = Math.max(1, ...rows.map((r) => r.count));
    const step = (W - left - right) / Math.max(1, rows.length);
    const yOf = (rate) => top + (H - top - bottom) * (1 - rate);
    for (const tick of [0, 0.5, 1]) {
      root.append(svg("line", { x1: left, x2: W - right, y1: yOf(tick), y2: yOf(tick), class: "ra__grid-line" }));
      root.append(svg("text", { x: left - 4, y: yOf(tick) + 4, "text-anchor": "end" }, `${tick * 100}%`));
    }
    const points = [];
    rows.forEach((row, i) => {
      const x = left + step * i + step / 2;
      const h = (H - top - bottom) * row.count / most;
      const bar = svg("rect", { x: x - Math.min(18, step * 0.35), width: Math.min(36, step * 0.7), y: H - bottom - h, height: h, class: "ra__count" });
      bar.append(svg("title", {}, `${row.label}：${row.count} 条，满意度 ${percent(row.satisfaction)}`));
      root.append(bar);
      if (row.satisfaction !== null) points.push([x, yOf(row.satisfaction)]);
      if (rows.length <= 16 || i % Math.ceil(rows.length / 12) === 0) {
        root.append(svg("text", { x, y: H - bottom + 16, "text-anchor": "middle" }, row.key.slice(5)));
      }
    });
    if (points.length) {
      root.append(svg("polyline", { points: points.map((p) => p.join(",")).join(" "), class: "ra__line" }));
      for (const [x, y] of points) root.append(svg("circle", { cx: x, cy: y, r: 3, class: "ra__dot" }));
    }
    root.append(svg("text", { x: W - 4, y: top + 8, "text-anchor": "end" }, `柱：评价数（最多${most}条）`));
    return root;
  }

  function reasonBars(reasons) {
    const most = Math.max(1, ...reasons.map((r) => r.count));
    if (!reasons.some((r) => r.count)) return el("p", "muted", "该时段没有差评原因。");
    const W = 460, rowH = 24, left = 80, right = 90, H = reasons.length * rowH + 4;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "差评原因" });
    reasons.forEach((r, i) => {
      const y = 2 + i * rowH;
      root.append(svg("text", { x: left - 6, y: y + 16, "text-anchor": "end" }, r.reason));
      root.append(svg("rect", { x: left, y: y + 4, height: rowH - 8, width: (W - left - right) * r.count / most, fill: "#f97066", rx: 2 }));
      root.append(svg("text", { x: W - right + 6, y: y + 16 }, `${r.count}（${percent(r.share)}）`));
    });
    return root;
  }

  function departmentsTable(departments) {
    if (!departments.length) return el("p", "muted", "该时段没有整改单。");
    const table = el("table", "ra__table");
    const head = el("tr");
    for (const title of ["部门", "整改单", "按时办结率", "当前超期", "回访率", "限时回访率"]) head.append(el("th", "", title));
    table.append(head);
    for (const d of departments) {
      const tr = el("tr");
      for (const value of [d.department, d.opened, percent(d.on_time), d.overdue_open, percent(d.called_back_share),
        percent(d.called_back_in_time_share)]) tr.append(el("td", "", value));
      table.append(tr);
    }
    return table;
  }

  async function refresh() {
    $("f-error").textContent = "";
    let p;
    try { p = params(); } catch (e) { $("f-error").textContent = e.message; return; }
    const period = new URLSearchParams(p);
    period.set("by", "period");
    period.set("period", $("f-period").value);
    const by = (name) => { const q = new URLSearchParams(p); q.set("by", name); return api("GET", `/api/v1/console/ratings/summary?${q}`); };
    const [trendData, business, channel, department, agent, reasons, cases] = await Promise.all([
      api("GET", `/api/v1/console/ratings/summary?${period}`), by("business"), by("channel"), by("department"), by("agent"),
      api("GET", `/api/v1/console/ratings/reasons?${p}`), api("GET", `/api/v1/console/ratings/rectification?${p}`),
    ]);
    if (!$("f-from").value) $("f-from").value = trendData.from;
    if (!$("f-to").value) $("f-to").value = trendData.to;
    $("scores").textContent = LEVELS.map(([level, title]) => `${title} ${trendData.scores[level]}`).join("、");
    const t = trendData.total;
    $("overall").replaceChildren(
      card("评价数", String(t.count), t.marked ? `另有申诉撤销 ${t.marked} 条` : ""),
      card("满意度", percent(t.satisfaction), t.score === null ? "" : `平均得分 ${t.score}`),
      card("好评率", percent(t.good)), card("差评率", percent(t.bad)));
    $("chart-period").replaceChildren(trend(trendData.rows));
    $("chart-business").replaceChildren(stacked(business.rows));
    $("chart-channel").replaceChildren(stacked(channel.rows));
    $("chart-department").replaceChildren(stacked(department.rows));
    $("chart-agent").replaceChildren(stacked(agent.rows));
    $("chart-reasons").replaceChildren(reasonBars(reasons.reasons));
    $("rectify").replaceChildren(
      card("整改单", String(cases.opened), `已办结 ${cases.closed}`),
      card("按时办结率", percent(cases.on_time)), card("当前超期", String(cases.overdue_open)),
      card("回访率", percent(cases.called_back_share), `限时回访 ${percent(cases.called_back_in_time_share)}`));
    $("rectify-departments").replaceChildren(departmentsTable(cases.departments));
  }

  function run() { refresh().catch((e) => toast(e.message, "error")); }

  $("filters").addEventListener("submit", (event) => { event.preventDefault(); run(); });
  for (const button of document.querySelectorAll(".ra__quick button")) {
    button.addEventListener("click", () => {
      if (button.dataset.days) {
        $("f-to").value = today();
        $("f-from").value = shift(today(), 1 - Number(button.dataset.days));
      } else {
        [$("f-from").value, $("f-to").value] = monthRange(Number(button.dataset.month));
      }
      run();
    });
  }
  $("f-month").addEventListener("input", reportLinks);
  $("legend").replaceChildren(...LEVELS.map(([, title, colour]) => {
    const li = el("li");
    const swatch = el("span", "ra__swatch");
    swatch.style.background = colour;
    li.append(swatch, document.createTextNode(title));
    return li;
  }));

  function start(who) {
    const me = who.agent;
    $("me-name").textContent = `${me.display_name}（${ROLES[me.role] || me.role}）`;
    const allowed = me.role === "supervisor" || me.role === "admin";
    $("forbidden").hidden = allowed;
    $("ra").hidden = !allowed;
    $("f-month").value = monthRange(-1)[0].slice(0, 7);
    reportLinks();
    if (allowed) run();
  }

  Console.login(start);
})();
