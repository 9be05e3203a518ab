// The agent's own standing on the console (ratings/routes/standing.py): a 我的评价/排行榜 button in the
// bar opens a panel with my score, its parts, my rank and the leaderboard (display names and scores only);
// a suspension (动态退出) shows as a notice under the bar from login on, with the appeal form. Everything
// from the server is set as text.
"use strict";

(() => {
  const { api, el, button, toast, Live } = Console;
  const PARTS = { ratings: "评价", response: "首次响应", handling: "处理时长", grabs: "抢单" };
  const RULES = { low_score: "评分低于上岗线", verified_bad: "核实差评达到上限", manual: "主管暂停" };
  let panel = null;
  let notice = null;
  let loaded = false;

  function score(value) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(1);
  }

  function build() {
    const bar = document.querySelector("#app .bar");
    const toggle = button("我的评价/排行榜", () => {
      panel.hidden = !panel.hidden;
      toggle.setAttribute("aria-expanded", String(!panel.hidden));
      if (!panel.hidden) load();
    }, "btn btn--quiet btn--small");
    toggle.id = "standing-toggle";
    toggle.setAttribute("aria-controls", "standing-panel");
    toggle.setAttribute("aria-expanded", "false");
    bar.insertBefore(toggle, document.getElementById("conn"));
    notice = el("section", "panel standing-notice");
    notice.id = "standing-notice";
    notice.setAttribute("role", "alert");
    notice.hidden = true;
    panel = el("section", "panel standing");
    panel.id = "standing-panel";
    panel.setAttribute("aria-label", "我的评价与排行榜");
    panel.hidden = true;
    bar.after(notice, panel);
  }

  function showNotice(suspension) {
    notice.replaceChildren();
    if (!suspension) { notice.hidden = true; return; }
    notice.hidden = false;
    notice.append(el("h2", null, "上岗资格已暂停"), el("p", null, suspension.message),
      el("p", "muted", `原因：${RULES[suspension.rule] || suspension.rule}` +
        (suspension.score !== null ? `（当时评分 ${score(suspension.score)}）` : "") +
        (suspension.note ? `；主管说明：${suspension.note}` : "")));
    if (suspension.appealed_at) {
      notice.append(el("p", "muted", `已申诉：${suspension.appeal_note || ""}（等待主管复核）`));
      return;
    }
    const form = el("form", "note-form");
    const label = el("label", "visually-hidden", "申诉理由");
    label.htmlFor = "standing-appeal-text";
    const text = el("textarea");
    text.id = "standing-appeal-text";
    text.rows = 2;
    text.maxLength = 1000;
    text.placeholder = "申诉理由（如差评系误评、恶意评价），主管复核时可见";
    const send = el("button", "btn btn--small", "提交申诉");
    send.type = "submit";
    form.append(label, text, send);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("POST", `/api/v1/console/standing/suspensions/${suspension.id}/appeal`, { note: text.value });
        toast("申诉已提交，请等待主管复核。");
        load();
      } catch (error) { toast(error.message, "error"); }
    });
    notice.append(form);
  }

  function partsList(parts, formula) {
    const list = el("dl", "context");
    for (const [key, title] of Object.entries(PARTS)) {
      list.append(el("dt", null, `${title}（权重 ${formula.weights[key]}）`), el("dd", null, score(parts[key])));
    }
    return list;
  }

  function board(rows) {
    const table = el("table");
    const head = el("tr");
    for (const title of ["名次", "客服", "评分", "评价数"]) head.append(el("th", null, title));
    table.append(el("thead"), el("tbody"));
    table.tHead.append(head);
    for (const row of rows) {
      const line = el("tr");
      if (row.me) line.className = "standing__me";
      line.append(el("td", null, row.rank ?? "—"), el("td", null, row.me ? `${row.display_name}（我）` : row.display_name),
        el("td", null, score(row.score)), el("td", null, row.ratings));
      table.tBodies[0].append(line);
    }
    return table;
  }

  async function load() {
    try {
      const [mine, leaders] = await Promise.all([
        api("GET", "/api/v1/console/standing/me"), api("GET", "/api/v1/console/leaderboard"),
      ]);
      loaded = true;
      showNotice(mine.me.suspension);
      const me = mine.me;
      panel.replaceChildren(
        el("h2", null, "我的评价"),
        el("p", null, `常态评分 ${score(me.score)}` + (me.rank ? ` · 第 ${me.rank} 名（共 ${mine.ranked} 人）` : "")),
        el("p", "muted", `最近${mine.formula.window_days}天：评价 ${me.ratings} 条，核实差评 ${me.verified_bad} 条` +
          `（扣 ${score(me.penalty)} 分），抢单 ${me.grabs} 次，办结 ${me.handled} 个`),
        partsList(me.parts, mine.formula),
        el("p", "muted", mine.formula.text),
        el("h2", null, `排行榜（${leaders.period}）`),
        board(leaders.agents),
      );
    } catch (error) {
      if (error.status !== 401) toast(error.message, "error");
    }
  }

  function start() {
    build();
    Live.listen((frame) => {
      if (frame.type === "standing.suspension") {
        toast(frame.message, frame.state === "readmitted" ? "info" : "error");
        load();
      }
    });
    // Loaded once the console is shown (after login), and again after every new login.
    const app = document.getElementById("app");
    new MutationObserver(() => {
      if (app.hidden) { loaded = false; return; }
      if (!loaded) load();
    }).observe(app, { attributes: true, attributeFilter: ["hidden"] });
    if (!app.hidden) load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
