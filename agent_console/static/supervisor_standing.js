// The supervisor's 坐席考评 tab (ratings/routes/standing.py): every agent's rolling score and its parts,
// suspensions with their appeals and the review buttons (恢复上岗 / 维持暂停), a manual suspension, and the
// monthly performance sheet (绩效考核) as CSV or XLSX. Everything from the server is set as text.
"use strict";

(() => {
  const { api, el, button, toast, time } = Console;
  const STATES = { suspended: "暂停待复核", upheld: "维持暂停", readmitted: "已恢复" };
  const RULES = { low_score: "评分低于上岗线", verified_bad: "核实差评达到上限", manual: "主管暂停" };
  let section = null;

  function score(value) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(1);
  }

  function table(titles, rows) {
    const node = el("table");
    const head = el("tr");
    for (const title of titles) head.append(el("th", null, title));
    node.append(el("thead"), el("tbody"));
    node.tHead.append(head);
    for (const cells of rows) {
      const line = el("tr");
      for (const cell of cells) {
        const td = el("td");
        if (cell instanceof Node) td.append(cell); else td.textContent = cell ?? "—";
        line.append(td);
      }
      node.tBodies[0].append(line);
    }
    return node;
  }

  function ask(text) {
    const answer = window.prompt(text, "");
    return answer === null ? null : answer.trim();
  }

  async function act(method, path, body, done) {
    try {
      await api(method, path, body);
      toast(done);
      load();
    } catch (error) { toast(error.message, "error"); }
  }

  function decideButtons(suspension) {
    const box = el("span");
    if (suspension.state === "readmitted") return box;
    const url = `/api/v1/console/standing/suspensions/${suspension.id}/decide`;
    box.append(button("恢复上岗", () => {
      const note = ask("恢复上岗的说明（可留空）");
      if (note !== null) act("POST", url, { decision: "readmit", note: note || null }, "已恢复上岗资格。");
    }, "btn btn--small btn--primary"));
    if (suspension.state === "suspended") {
      box.append(button("维持暂停", () => {
        const note = ask("维持暂停的说明（客服可见）");
        if (note !== null) act("POST", url, { decision: "uphold", note: note || null }, "已维持暂停。");
      }, "btn btn--small"));
    }
    return box;
  }

  function sheetForm() {
    const form = el("form", "filters");
    const label = el("label", null, "月份 ");
    const month = el("input", "date-input");
    month.placeholder = "年-月";
    month.maxLength = 7;
    month.value = new Date().toISOString().slice(0, 7);
    label.append(month);
    const links = el("span");
    const refresh = () => {
      links.replaceChildren();
      for (const format of ["csv", "xlsx"]) {
        const link = el("a", "btn btn--small", `导出 ${format.toUpperCase()}`);
        link.href = `/api/v1/console/standing/sheet?month=${encodeURIComponent(month.value)}&format=${format}`;
        links.append(link);
      }
    };
    month.addEventListener("input", refresh);
    refresh();
    form.append(label, links, el("span", "muted", "（绩效考核表：每名客服与每个部门；导出会记入操作审计）"));
    form.addEventListener("submit", (event) => event.preventDefault());
    return form;
  }

  async function load() {
    if (!section) return;
    try {
      const data = await api("GET", "/api/v1/console/standing");
      const agents = data.agents.map((row) => [
        row.rank ?? "—", row.display_name, row.department || "—", score(row.score),
        `评价 ${score(row.parts.ratings)} · 响应 ${score(row.parts.response)} · 处理 ${score(row.parts.handling)} · 抢单 ${score(row.parts.grabs)}`,
        row.ratings, row.verified_bad,
        row.suspension ? STATES[row.suspension.state] : button("暂停上岗", () => {
          const note = ask(`暂停 ${row.display_name} 的上岗资格，原因（客服可见）：`);
          if (note) act("POST", `/api/v1/console/standing/agents/${row.agent_id}/suspend`, { note }, "已暂停。");
        }, "btn btn--small btn--danger"),
      ]);
      const suspensions = data.suspensions.map((s) => [
        s.display_name, STATES[s.state] || s.state, RULES[s.rule] || s.rule, score(s.score), time(s.created_at, true),
        s.note || "—", s.appeal_note ? `${s.appeal_note}（${time(s.appealed_at, true)}）` : "—",
        s.decision_note || "—", decideButtons(s),
      ]);
      section.replaceChildren(
        el("h2", null, "坐席考评（常态评价）"),
        el("p", "muted", data.formula.text + ` 上岗线 ${data.formula.min_score} 分（至少 ${data.formula.min_ratings} 条评价）；` +
          `核实差评 ${data.formula.max_verified_bad} 条即暂停。`),
        table(["名次", "客服", "部门", "评分", "各项", "评价数", "核实差评", "上岗资格"], agents),
        el("h2", null, "暂停与复核（动态退出）"),
        suspensions.length ? table(["客服", "状态", "原因", "评分", "暂停时间", "说明", "申诉", "复核意见", ""], suspensions)
          : el("p", "muted", "目前没有暂停记录。"),
        el("h2", null, "月度绩效考核表"),
        sheetForm(),
      );
    } catch (error) {
      if (error.status !== 401) toast(error.message, "error");
    }
  }

  function start() {
    section = SupervisorTabs.add("standing", "坐席考评", { role: "supervisor" });
    SupervisorTabs.onShow("standing", load);
    Console.Live.listen((frame) => {
      if (frame.type === "standing.suspension" && SupervisorTabs.current === "standing") load();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
