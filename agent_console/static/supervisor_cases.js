// The supervisor's 差评整改 tab (ratings/routes/cases.py): open and overdue rectification cases with their
// deadlines and escalation, a case's rating and steps, and the next step's button. Everything from the
// server (the citizen's comment above all) is set as text, never as markup.
"use strict";

(() => {
  const { api, el, button, toast, time } = Console;
  const BASE = "/api/v1/console/ratings/cases";
  const ESCALATION = ["—", "已升级至主管", "已升级至中心"];
  const ACTIONS = {
    verified: "核实", call_attempt: "回访未接通", called_back: "回访", rectified: "整改", replied: "答复",
    follow_up: "回访评价", closed: "办结", closed_without_follow_up: "到期办结", appealed: "申诉",
    appeal_upheld: "申诉成立", appeal_rejected: "申诉驳回", escalated: "逾期升级", opened: "立案",
  };
  let section = null;
  let filter = "open";
  let shown = null;  // the case whose detail is open

  function ask(text) {
    const answer = window.prompt(text, "");
    return answer === null ? null : answer.trim();
  }

  async function act(id, step, body, done) {
    try {
      await api("POST", `${BASE}/${id}/${step}`, body);
      toast(done);
      await load();
      if (shown === id) await open(id);
    } catch (error) { toast(error.message, "error"); }
  }

  // The buttons a case's status allows (the server decides; a stale one answers 409 and the list reloads).
  function next(c) {
    const box = el("span", "cases__actions");
    const add = (text, fn, kind = "btn btn--small") => box.append(button(text, fn, kind));
    const note = (step, prompt, done) => () => {
      const text = ask(prompt);
      if (text !== null) act(c.id, step, { note: text || null }, done);
    };
    if (c.status === "open") add("核实", note("verify", "核实情况（可留空）", "已核实。"), "btn btn--small btn--primary");
    if (c.status === "verified") {
      add("已回访", note("call-back", "回访情况", "已记录回访。"), "btn btn--small btn--primary");
      add("未接通", () => {
        const text = ask("未接通的说明（可留空）");
        if (text !== null) act(c.id, "call-back", { reached: false, note: text || null }, "已记录回访尝试。");
      });
    }
    if (c.status === "called_back") add("整改", note("rectify", "整改措施", "已记录整改。"), "btn btn--small btn--primary");
    if (c.status === "rectified") {
      add("答复市民", () => {
        const text = ask("答复内容（会发给市民）");
        if (text) act(c.id, "reply", { text }, "已答复。");
      }, "btn btn--small btn--primary");
    }
    if (c.status === "replied") {
      add("记录回访评价", () => {
        const level = ask("市民的回访评价（1–5，5 为非常满意）");
        if (level) act(c.id, "follow-up", { level: Number(level) }, "已记录回访评价。");
      });
      add("办结", note("close", "办结说明（可留空）", "已办结。"));
    }
    if (c.status === "appeal") {
      add("申诉成立", () => decide(c.id, true));
      add("驳回申诉", () => decide(c.id, false));
    }
    add("详情", () => open(c.id), "btn btn--small btn--quiet");
    return box;
  }

  function decide(id, upheld) {
    const text = ask(upheld ? "申诉成立的理由" : "驳回申诉的理由");
    if (text !== null) act(id, "appeal/decision", { upheld, note: text || null }, upheld ? "申诉成立，评价已标记。" : "已驳回申诉。");
  }

  function row(c) {
    const line = el("tr");
    if (c.overdue) line.className = "cases__overdue";
    const due = el("span", c.overdue ? "error" : null, time(c.due_at, true));
    const cells = [String(c.id), c.level_label, c.department || "—", c.status_label,
      time(c.callback_due_at, true), due, ESCALATION[c.escalation] || "—", next(c)];
    for (const cell of cells) {
      const td = el("td");
      if (cell instanceof Node) td.append(cell); else td.textContent = cell;
      line.append(td);
    }
    return line;
  }

  async function open(id) {
    shown = id;
    const box = section.querySelector(".cases__detail");
    try {
      const c = await api("GET", `${BASE}/${id}`);
      const steps = el("ol", "cases__steps");
      for (const s of c.steps) {
        steps.append(el("li", null, `${time(s.at, true)} ${s.actor}：${ACTIONS[s.action] || s.action}` +
          (s.note ? ` — ${s.note}` : "")));
      }
      box.replaceChildren(
        el("h3", null, `整改单 ${c.id} · ${c.rating.level_label} · ${c.status_label}`),
        el("p", null, `渠道 ${c.rating.channel} · 业务 ${c.business || "—"} · 原因 ${c.rating.reasons.join("、") || "—"}`),
        el("p", "cases__comment", c.rating.comment ? `留言：${c.rating.comment}` : "（无留言）"),
        c.rating.mark ? el("p", "muted", "该评价已因申诉成立被标记（不计入评分）。") : el("span"),
        steps,
      );
      box.hidden = false;
    } catch (error) { toast(error.message, "error"); }
  }

  async function load() {
    if (!section) return;
    const params = filter === "overdue" ? "?overdue=true" : "";
    try {
      const data = await api("GET", BASE + params);
      const list = filter === "open" ? data.cases.filter((c) => c.status !== "closed") : data.cases;
      const body = section.querySelector("tbody");
      body.replaceChildren(...list.map(row));
      section.querySelector(".cases__none").hidden = list.length > 0;
    } catch (error) {
      if (error.status !== 401) toast(error.message, "error");
    }
  }

  function build() {
    const filters = el("div", "filters");
    for (const [key, title] of [["open", "未办结"], ["overdue", "已逾期"], ["all", "全部"]]) {
      filters.append(button(title, () => { filter = key; load(); }, "btn btn--small"));
    }
    filters.append(button("刷新", load, "btn btn--small btn--quiet"));
    const table = el("table");
    const head = el("tr");
    for (const title of ["编号", "评价", "责任部门", "状态", "回访时限", "办结时限", "升级", ""]) head.append(el("th", null, title));
    table.append(el("thead"), el("tbody"));
    table.tHead.append(head);
    const detail = el("div", "cases__detail");
    detail.hidden = true;
    section.replaceChildren(el("h2", null, "差评整改"),
      el("p", "muted", "每条不满意、非常不满意的评价都要核实、回访、整改并答复市民；时限按工作日计算，逾期自动升级。"),
      filters, table, el("p", "muted cases__none", "目前没有整改单。"), detail);
  }

  function start() {
    section = SupervisorTabs.add("cases", "差评整改", { role: "supervisor" });
    build();
    SupervisorTabs.onShow("cases", load);
    setInterval(() => { if (SupervisorTabs.current === "cases") load(); }, 60000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
