// 好差评 at the counter: choose a level (reasons after a bad one), an optional comment, submit once.
// Everything shown comes back as text (textContent), never as markup.
(function () {
  "use strict";
  var main = document.getElementById("rate");
  if (!main) { return; }
  var visit = main.getAttribute("data-visit");
  var levels = Array.prototype.slice.call(document.querySelectorAll(".level"));
  var reasons = document.getElementById("reasons");
  var more = document.getElementById("more");
  var submit = document.getElementById("submit");
  var error = document.getElementById("error");
  var chosen = null;

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  levels.forEach(function (button) {
    button.addEventListener("click", function () {
      chosen = Number(button.getAttribute("data-level"));
      levels.forEach(function (other) { other.setAttribute("aria-pressed", String(other === button)); });
      var bad = chosen <= 2;
      reasons.hidden = !bad;
      if (!bad) {
        Array.prototype.forEach.call(reasons.querySelectorAll("input"), function (box) { box.checked = false; });
      }
      more.hidden = false;
      showError("");
    });
  });

  function thanks(text) {
    main.hidden = true;
    var done = document.getElementById("thanks");
    if (text) { document.getElementById("thanks-text").textContent = text; }
    done.hidden = false;
  }

  submit.addEventListener("click", function () {
    if (!chosen) { showError("请先选择评价等级。"); return; }
    var picked = Array.prototype.map.call(reasons.querySelectorAll("input:checked"), function (box) { return box.value; });
    var comment = document.getElementById("comment").value.trim();
    submit.disabled = true;
    showError("");
    fetch("/api/v1/ratings/counter", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ visit: visit, level: chosen, reasons: picked, comment: comment || null })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.ok) { thanks(chosen <= 2 ? "很抱歉没能让您满意，窗口所在部门会核实情况并整改。" : ""); return; }
        if (body.code === "already_rated") { thanks(body.message); return; }
        submit.disabled = false;
        showError(body.message || "提交失败，请稍后再试。");
      });
    }).catch(function () {
      submit.disabled = false;
      showError("网络不通，请稍后再试。");
    });
  });
}());
