// 一点就能办: the questions the centre's data could not answer, asked one at a time. Each answer posts
// every answer so far to /o/<token>/checklist, which says the next question or the outcome.
(function () {
  "use strict";
  var main = document.querySelector("main[data-token]");
  var form = document.getElementById("questions");
  if (!main || !form) { return; }
  var token = main.getAttribute("data-token");
  var error = document.getElementById("error");
  var outcomes = { eligible: "看起来符合条件", not_eligible: "暂时不符合条件", review: "需要中心审核确认" };

  function answers() {
    var given = {};
    form.querySelectorAll("fieldset.question:not([hidden])").forEach(function (set) {
      var id = set.getAttribute("data-question");
      var type = set.getAttribute("data-type");
      if (type === "number") {
        var input = set.querySelector("input[type=number]");
        if (input.value !== "") { given[id] = Number(input.value); }
        return;
      }
      var picked = set.querySelector("input[type=radio]:checked");
      if (picked) { given[id] = type === "yes_no" ? picked.value === "true" : picked.value; }
    });
    return given;
  }

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function list(tag, items, className) {
    var node = element(tag, undefined, className);
    items.forEach(function (item) { node.appendChild(element("li", item)); });
    return node;
  }

  function showResult(body) {
    var slot = document.getElementById("result-slot");
    slot.textContent = "";
    var section = element("section", undefined, "card result " + body.outcome);
    section.id = "result";
    section.setAttribute("data-outcome", body.outcome);
    section.appendChild(element("h2", outcomes[body.outcome] || body.outcome));
    if (body.reasons.length) { section.appendChild(list("ul", body.reasons, "reasons")); }
    if (body.warnings.length) {
      section.appendChild(element("p", "特别提醒", "label"));
      section.appendChild(list("ul", body.warnings, "warnings"));
    }
    section.appendChild(element("p", "以上是按中心数据和您的回答做的初步判断，最终以中心受理审核为准。", "note"));
    slot.appendChild(section);
    var documents = document.querySelector("#documents ol");
    documents.textContent = "";
    body.documents.forEach(function (text) { documents.appendChild(element("li", text)); });
    if (!body.documents.length) { documents.appendChild(element("li", "无需额外材料，或请以中心受理要求为准。", "muted")); }
    section.scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function showQuestion(id) {
    var slot = document.getElementById("result-slot");
    slot.textContent = "";
    var given = answers();
    form.querySelectorAll("fieldset.question").forEach(function (set) {
      var qid = set.getAttribute("data-question");
      set.classList.toggle("current", qid === id);
      if (qid === id) { set.hidden = false; } else if (!(qid in given)) { set.hidden = true; }
    });
  }

  function ask() {
    error.hidden = true;
    fetch("/o/" + encodeURIComponent(token) + "/checklist", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ answers: answers() }),
      credentials: "omit",
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (reply) {
      if (!reply.ok) {
        error.textContent = reply.body.message || "暂时无法提交，请稍后再试。";
        error.hidden = false;
        return;
      }
      if (reply.body.done) { showResult(reply.body); } else { showQuestion(reply.body.question.id); }
    }).catch(function () {
      error.textContent = "网络不太稳定，请稍后再试。";
      error.hidden = false;
    });
  }

  form.addEventListener("change", function (event) {
    if (event.target.type === "radio") { ask(); }
  });
  form.addEventListener("click", function (event) {
    if (event.target.classList.contains("next")) { ask(); }
  });
  form.addEventListener("submit", function (event) { event.preventDefault(); ask(); });
})();
