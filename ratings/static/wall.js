// The wall view: the figures refetched every 15 seconds, and each rating shown the moment it arrives
// (server-sent events from /api/v1/console/ratings/live; the browser reconnects on its own). Names
// come from the service as text and are set as text, never as HTML.
"use strict";

(() => {
  const { api, el, toast, percent, time, duration } = Console;
  const $ = (id) => document.getElementById(id);
  const REFRESH_MS = 15000;
  const FEED = 14;
  let timer = 0;
  let stream = null;

  function ratingItem(r, fresh) {
    const li = el("li", fresh ? "wall__new" : "");
    const level = el("span", "wall__level", r.level_label);
    level.dataset.level = String(r.level);
    li.append(el("time", "", time(r.at, true)), level, el("span", "", r.department),
      el("span", "muted", `${r.channel_label} · ${r.bot ? "智能客服" : r.business}`));
    return li;
  }

  function department(row) {
    const line = el("div", "wall__dept");
    const meter = el("div", row.satisfaction !== null && row.satisfaction < 0.8 ? "wall__meter wall__meter--low" : "wall__meter");
    const fill = el("span");
    fill.style.width = `${Math.round((row.satisfaction || 0) * 100)}%`;
    meter.append(fill);
    line.append(el("span", "", row.label), meter, el("span", "", `${percent(row.satisfaction)}`));
    line.title = `${row.label}：今日 ${row.count} 条评价`;
    return line;
  }

  function overdueItem(c) {
    const li = el("li");
    const level = el("span", "wall__level", c.level_label);
    level.dataset.level = String(c.level);
    const late = (Date.now() - new Date(c.due_at).getTime()) / 1000;
    const days = Math.floor(late / 86400);
    const overdue = days >= 1 ? `${days}天${Math.floor((late % 86400) / 3600)}时` : duration(late);
    li.append(el("span", "", c.department), level, el("span", "muted", `超期 ${overdue}`),
      el("span", "muted", c.escalation >= 2 ? "已升级至中心" : c.escalation === 1 ? "已升级至主管" : ""));
    return li;
  }

  async function refresh() {
    const data = await api("GET", "/api/v1/console/ratings/wall");
    $("t-pool").textContent = String(data.queue.pool_length);
    $("t-wait").textContent = duration(data.queue.longest_wait_s);
    $("t-duty").textContent = String(data.queue.agents_on_duty);
    const count = data.today.reduce((n, row) => n + row.count, 0);
    const weighted = data.today.reduce((n, row) => n + (row.satisfaction || 0) * row.count, 0);
    $("t-count").textContent = String(count);
    $("t-sat").textContent = count ? percent(weighted / count) : "—";
    $("t-overdue").textContent = String(data.overdue_total);
    $("departments").replaceChildren(...(data.today.length ? data.today.map(department) : [el("p", "muted", "今日暂无评价")]));
    $("feed").replaceChildren(...data.recent.slice(0, FEED).map((r) => ratingItem(r, false)));
    $("overdue").replaceChildren(...(data.overdue.length ? data.overdue.map(overdueItem) : [el("li", "muted", "没有超期整改单")]));
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(() => { refresh().catch(() => {}).finally(schedule); }, REFRESH_MS);
  }

  function listen() {
    stream = new EventSource("/api/v1/console/ratings/live");
    stream.addEventListener("open", () => { $("wall-conn").dataset.state = "online"; $("wall-conn").textContent = "实时"; });
    stream.addEventListener("error", () => { $("wall-conn").dataset.state = "offline"; $("wall-conn").textContent = "重连中…"; });
    stream.addEventListener("rating", (event) => {
      let r;
      try { r = JSON.parse(event.data); } catch { return; }
      const feed = $("feed");
      feed.prepend(ratingItem(r, true));
      while (feed.children.length > FEED) feed.lastElementChild.remove();
    });
  }

  function tick() {
    $("wall-clock").textContent = time(new Date().toISOString(), true);
  }

  function start(who) {
    const allowed = who.agent.role === "supervisor" || who.agent.role === "admin";
    $("forbidden").hidden = allowed;
    $("wall").hidden = !allowed;
    if (!allowed) return;
    tick();
    setInterval(tick, 1000);
    refresh().catch((e) => toast(e.message, "error")).finally(schedule);
    if (!stream) listen();
  }

  Console.login(start);
})();
