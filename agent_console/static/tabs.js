// The supervisor page's tabs. A tab is a section in #sup:
//   <section data-tab="audit" data-tab-title="操作审计" [data-tab-role="admin"]> … </section>
// or, from a page's own script file, `SupervisorTabs.add("ratings", "差评整改")` (returns the section to
// fill). A tab's code learns when it is shown with `SupervisorTabs.onShow("ratings", fn)`, so it loads its
// data only then. The chosen tab stays in the address (#tab=…), so a reload or a shared link opens it.
"use strict";

const SupervisorTabs = (() => {
  const RANK = { agent: 0, campaigner: 0, supervisor: 1, admin: 2 };
  const listeners = {};
  let role = null;
  let current = null;
  let built = false;
  let keyed = false;

  const root = () => document.getElementById("sup");
  const bar = () => document.getElementById("sup-tabs");
  const sections = () => [...root().querySelectorAll(":scope > section[data-tab]")];

  function allowed(section) {
    const needed = section.dataset.tabRole;
    return !needed || (role !== null && (RANK[role] ?? -1) >= (RANK[needed] ?? 99));
  }

  function fromAddress() {
    const match = /(?:^#|&)tab=([\w-]+)/.exec(location.hash);
    return match ? match[1] : null;
  }

  function build() {
    const nav = bar();
    nav.replaceChildren();
    for (const section of sections()) {
      const key = section.dataset.tab;
      section.id = section.id || `tab-${key}`;
      section.setAttribute("role", "tabpanel");
      const tab = document.createElement("button");
      tab.type = "button";
      tab.className = "tabs__tab";
      tab.id = `tab-button-${key}`;
      tab.dataset.tab = key;
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-controls", section.id);
      tab.textContent = section.dataset.tabTitle || key;
      tab.hidden = !allowed(section);
      tab.addEventListener("click", () => show(key));
      section.setAttribute("aria-labelledby", tab.id);
      nav.append(tab);
    }
    built = true;
  }

  function show(key) {
    if (!built) build();
    const visible = sections().filter(allowed);
    const target = visible.find((s) => s.dataset.tab === key) || visible[0];
    if (!target) return;
    current = target.dataset.tab;
    for (const section of sections()) section.hidden = section !== target;
    for (const tab of bar().querySelectorAll(".tabs__tab")) {
      const on = tab.dataset.tab === current;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    if (fromAddress() !== current) history.replaceState(null, "", `#tab=${current}`);
    for (const fn of listeners[current] || []) {
      try { fn(target); } catch (e) { console.error(e); }  // one tab's failure must not stop the others
    }
  }

  // Arrow keys move between tabs, as in any tab strip (WAI-ARIA tabs pattern).
  function onKey(event) {
    if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
    const tabs = [...bar().querySelectorAll(".tabs__tab:not([hidden])")];
    const at = tabs.findIndex((t) => t.dataset.tab === current);
    let next = at;
    if (event.key === "ArrowLeft") next = (at - 1 + tabs.length) % tabs.length;
    if (event.key === "ArrowRight") next = (at + 1) % tabs.length;
    if (event.key === "Home") next = 0;
    if (event.key === "End") next = tabs.length - 1;
    event.preventDefault();
    show(tabs[next].dataset.tab);
    tabs[next].focus();
  }

  return {
    /** Adds a tab whose content a script builds; returns its (empty) section. */
    add(key, title, { role: needed } = {}) {
      const section = document.createElement("section");
      section.className = "panel";
      section.dataset.tab = key;
      section.dataset.tabTitle = title;
      if (needed) section.dataset.tabRole = needed;
      section.hidden = true;
      root().append(section);
      if (built) build();
      return section;
    },
    /** Runs `fn(section)` each time the tab `key` is shown (after login, and on every switch to it). */
    onShow(key, fn) {
      (listeners[key] = listeners[key] || []).push(fn);
      if (current === key) fn(root().querySelector(`section[data-tab="${key}"]`));
    },
    /** Called once the signed-in role is known: builds the strip and opens the tab in the address. */
    start(signedInRole) {
      role = signedInRole;
      build();
      if (!keyed) bar().addEventListener("keydown", onKey);
      keyed = true;
      show(fromAddress() || current);
    },
    show,
    get current() { return current; },
  };
})();
