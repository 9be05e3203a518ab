// 评价结果公开: the month's aggregate figures and twelve months of satisfaction. Only aggregates come
// from the service; labels are set as text, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const NS = "http://www.w3.org/2000/svg";
  const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;
  const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);

  function el(tag, text) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function card(title, value) {
    const node = el("div");
    node.className = "pub__card";
    const big = el("p", value);
    big.className = "pub__big";
    node.append(el("p", title), big);
    return node;
  }

  function table(rows) {
    if (!rows.length) return el("p", "本月暂无评价。");
    const t = el("table");
    const head = el("tr");
    for (const title of ["名称", "评价数", "满意度", "好评率"]) head.append(el("th", title));
    t.append(head);
    for (const row of rows) {
      const tr = el("tr");
      for (const value of [row.label, row.count, pct(row.satisfaction), pct(row.good)]) tr.append(el("td", value));
      t.append(tr);
    }
    return t;
  }

  function months(rows) {
    if (!rows.length) return el("p", "暂无评价。");
    const W = 720, H = 220, left = 40, bottom = 28, top = 24;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "近12个月满意度" });
    const step = (W - left) / rows.length;
    rows.forEach((row, i) => {
      const h = (H - top - bottom) * (row.satisfaction || 0);
      const width = Math.min(step * 0.6, 56);
      const x = left + i * step + (step - width) / 2;
      const bar = svg("rect", { x, y: H - bottom - h, width, height: h, fill: "#2e90fa", rx: 2 });
      bar.append(svg("title", {}, `${row.month}：满意度 ${pct(row.satisfaction)}，${row.count} 条评价`));
      root.append(bar);
      root.append(svg("text", { x: x + width / 2, y: H - bottom + 16, "text-anchor": "middle" }, row.month));
      root.append(svg("text", { x: x + width / 2, y: H - bottom - h - 6, "text-anchor": "middle" }, pct(row.satisfaction)));
    });
    return root;
  }

  async function load(month) {
    $("error").textContent = "";
    const query = month ? `?month=${encodeURIComponent(month)}` : "";
    const response = await fetch(`/api/v1/ratings/public${query}`, { headers: { Accept: "application/json" } });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) { $("error").textContent = data.message || "查询失败，请稍后再试。"; return; }
    $("month").value = data.month;
    $("cards").replaceChildren(card(`${data.month} 评价数`, data.total.count), card("满意度", pct(data.total.satisfaction)),
      card("好评率", pct(data.total.good)), card("差评整改按时办结率", pct(data.rectification.on_time)),
      card("差评回访率", pct(data.rectification.called_back_share)));
    $("months").replaceChildren(months(data.months));
    for (const part of ["business", "channel", "department"]) $(part).replaceChildren(table(data[part]));
    $("scoring").textContent = `说明：${data.scoring}。`;
  }

  $("pick").addEventListener("submit", (event) => {
    event.preventDefault();
    const month = $("month").value.trim();
    if (!MONTH.test(month)) { $("error").textContent = "月份请按 yyyy-mm 填写，例如 2026-11。"; return; }
    load(month).catch(() => { $("error").textContent = "查询失败，请稍后再试。"; });
  });
  load(new URLSearchParams(location.search).get("month") || "").catch(() => { $("error").textContent = "查询失败，请稍后再试。"; });
})();
