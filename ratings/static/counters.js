// 窗口评价二维码: supervisors add counter windows, print each window's signed QR code, change who serves
// there (the old code stops working), reissue a code or close a window. Every name is set as text.
"use strict";

(() => {
  const { api, el, toast, button } = Console;
  const $ = (id) => document.getElementById(id);
  const BASE = "/api/v1/ratings/counters";
  const ROLES = { agent: "客服", campaigner: "外呼专员", supervisor: "主管", admin: "管理员" };
  let agents = [];

  function failed(error) {
    toast((error.data && error.data.message) || error.message || "操作失败，请稍后再试。", "error");
  }

  function agentSelect(current) {
    const select = el("select");
    select.append(new Option("（不指定）", ""));
    for (const agent of agents) select.append(new Option(agent.display_name, String(agent.id)));
    select.value = current ? String(current) : "";
    return select;
  }

  async function change(id, body, done) {
    try {
      await api("PATCH", `${BASE}/${id}`, body);
      toast(done);
      await load();
    } catch (error) { failed(error); }
  }

  function row(window) {
    const tr = el("tr");
    tr.dataset.window = window.code;
    if (!window.active) tr.className = "ct__off";
    const staff = agentSelect(window.agent_id);
    staff.setAttribute("aria-label", `${window.office_name}${window.window}号窗口的服务人员`);
    staff.addEventListener("change", () => change(window.id, { agent_id: staff.value ? Number(staff.value) : null },
      "服务人员已更换，请打印新的二维码。"));
    const actions = el("div", "ct__actions");
    const print = el("a", "btn btn--small", "打印二维码");
    print.href = `${BASE}/${window.id}/print`;
    print.target = "_blank";
    print.rel = "noopener";
    actions.append(
      print,
      button("重新生成", () => change(window.id, { reissue: true }, "已重新生成，旧二维码已失效。"), "btn btn--small"),
      window.active
        ? button("停用", () => change(window.id, { active: false }, "窗口已停用。"), "btn btn--small btn--danger")
        : button("启用", () => change(window.id, { active: true }, "窗口已启用。"), "btn btn--small"),
    );
    const cells = [el("td", "", window.office_name), el("td", "", `${window.window}号窗口`), el("td"),
      el("td", "", window.department), el("td", "", window.active ? "使用中" : "已停用"), el("td")];
    cells[2].append(staff);
    cells[5].append(actions);
    tr.append(...cells);
    return tr;
  }

  async function load() {
    const { counters } = await api("GET", BASE);
    $("rows").replaceChildren(...counters.map(row));
  }

  $("new-window").addEventListener("submit", async (event) => {
    event.preventDefault();
    const windowNumber = $("n-window").value.trim();
    if (!/^[A-Za-z0-9]{1,16}$/.test(windowNumber)) { toast("窗口号请填写数字或字母，如 3。", "error"); return; }
    const agent = $("n-agent").value;
    try {
      await api("POST", BASE, { office: $("n-office").value, window: windowNumber,
        agent_id: agent ? Number(agent) : null });
      $("n-window").value = "";
      toast("窗口已新增，可以打印二维码了。");
      await load();
    } catch (error) { failed(error); }
  });

  async function start(who) {
    const me = who.agent;
    $("me-name").textContent = `${me.display_name}（${ROLES[me.role] || me.role}）`;
    const allowed = me.role === "supervisor" || me.role === "admin";
    $("forbidden").hidden = allowed;
    $("counters").hidden = !allowed;
    if (!allowed) return;
    try {
      const [{ offices }, roster] = await Promise.all([api("GET", `${BASE}/offices`), api("GET", "/api/v1/console/agents")]);
      agents = roster.agents.filter((agent) => agent.active !== false);
      $("n-office").replaceChildren(...offices.map((office) => new Option(office.name, office.code)));
      $("n-agent").replaceChildren(new Option("（不指定）", ""),
        ...agents.map((agent) => new Option(agent.display_name, String(agent.id))));
      await load();
    } catch (error) { failed(error); }
  }

  Console.login(start);
})();
