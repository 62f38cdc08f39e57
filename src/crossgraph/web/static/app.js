// crossgraph: the little the pages need a script for. Feedback buttons, lazy evidence,
// "shown" events, printing. Everything goes to this service only (CSP connect-src 'self').
(function () {
  "use strict";

  function container(el) { return el.closest("[data-feedback]"); }

  function headers(box) {
    var h = { "Content-Type": "application/json", "Accept": "application/json" };
    var token = box && box.getAttribute("data-token");
    if (token) { h["Authorization"] = "Bearer " + token; }
    var csrf = document.querySelector('meta[name="csrf-token"]');
    if (csrf && csrf.content) { h["X-CSRF-Token"] = csrf.content; }
    return h;
  }

  function announce(text) {
    var live = document.getElementById("announce");
    if (live) { live.textContent = text; }
  }

  var LEAVES = { dismissed: "Dismissed", won: "Marked won" };
  var STAYS = { accepted: "Accepted", lost: "Marked lost" };

  function message(response, fallback) {
    return response.json().then(function (body) { return body.detail || fallback; }, function () { return fallback; });
  }

  function act(button) {
    var item = button.closest(".action");
    var box = container(item);
    var action = button.getAttribute("data-action");
    var status = item.querySelector(".state");
    var buttons = item.querySelectorAll(".buttons button");
    buttons.forEach(function (b) { b.disabled = true; });
    status.classList.remove("error");
    status.textContent = "Saving…";
    fetch(box.getAttribute("data-feedback"), {
      method: "POST", headers: headers(box), credentials: "same-origin",
      body: JSON.stringify({ sku: item.getAttribute("data-sku"), kind: item.getAttribute("data-kind"), signal: item.getAttribute("data-signal"), action: action })
    }).then(function (response) {
      if (!response.ok) { return message(response, "Not saved (" + response.status + ")").then(function (m) { throw new Error(m); }); }
      var name = item.getAttribute("data-name");
      if (LEAVES[action]) {
        var next = item.nextElementSibling || item.previousElementSibling;
        item.remove();
        announce(LEAVES[action] + ": " + name + ". It leaves the list.");
        var focus = next && next.querySelector("button");
        if (focus) { focus.focus(); }
      } else {
        item.setAttribute("data-state", action);
        status.textContent = STAYS[action] + ".";
        announce(STAYS[action] + ": " + name);
        buttons.forEach(function (b) { b.disabled = b.getAttribute("data-action") === action; });
      }
    }).catch(function (error) {
      status.classList.add("error");
      status.textContent = error.message || "Not saved: the service did not answer.";
      buttons.forEach(function (b) { b.disabled = false; });
    });
  }

  function loadWhy(details) {
    if (details.getAttribute("data-loaded")) { return; }
    details.setAttribute("data-loaded", "1");
    var item = details.closest(".action");
    var list = details.closest("[data-why-base]");
    var box = container(details);
    var target = details.querySelector(".why-body");
    var url = list.getAttribute("data-why-base") + encodeURIComponent(item.getAttribute("data-sku"));
    fetch(url, { headers: headers(box), credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { return message(response, "No further evidence for this item.").then(function (m) { throw new Error(m); }); }
      return response.text();
    }).then(function (html) { target.innerHTML = html; }).catch(function (error) {
      target.textContent = error.message;
    });
  }

  function reportShown() {
    document.querySelectorAll("[data-shown]").forEach(function (box) {
      var items = Array.prototype.map.call(box.querySelectorAll(".action"), function (item) {
        return { sku: item.getAttribute("data-sku"), kind: item.getAttribute("data-kind"), signal: item.getAttribute("data-signal"), action: "shown" };
      });
      if (!items.length) { return; }
      fetch(box.getAttribute("data-shown"), {
        method: "POST", headers: headers(box), credentials: "same-origin", body: JSON.stringify({ items: items })
      }).catch(function () { /* a lost "shown" event must not disturb the rep */ });
    });
  }

  // Whitespace heatmap: a cell (a link to the account page) opens its evidence in the panel
  // instead; Enter on a focused cell does the same, and focus stays on the cell.
  function showEvidence(link, event) {
    var cell = link.closest("td.cell");
    var panel = document.getElementById("evidence");
    if (!panel) { return; }
    event.preventDefault();
    document.querySelectorAll("#heatmap td.selected").forEach(function (td) { td.classList.remove("selected"); });
    cell.classList.add("selected");
    var body = panel.querySelector(".why-body");
    var title = link.getAttribute("title") || "";
    panel.querySelector("h2").textContent = title.split(":")[0];
    body.textContent = "Loading the evidence…";
    fetch(link.getAttribute("data-why"), { headers: headers(null), credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { return message(response, "No evidence for this cell.").then(function (m) { throw new Error(m); }); }
      return response.text();
    }).then(function (html) {
      body.innerHTML = html;
      var more = document.createElement("p");
      var open = document.createElement("a");
      open.href = link.getAttribute("href");
      open.textContent = "Open the account";
      more.appendChild(open);
      body.appendChild(more);
      announce("Evidence loaded: " + title);
    }).catch(function (error) { body.textContent = error.message; });
  }

  document.addEventListener("submit", function (event) {
    var text = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    var cellLink = event.target.closest("#heatmap a[data-why]");
    if (cellLink) { showEvidence(cellLink, event); return; }
    var button = event.target.closest(".action .buttons button");
    if (button) { act(button); return; }
    if (event.target.closest("button.print")) { window.print(); }
  });
  document.addEventListener("toggle", function (event) {
    if (event.target.matches && event.target.matches("details.why") && event.target.open) { loadWhy(event.target); }
  }, true);
  document.addEventListener("DOMContentLoaded", reportShown);
  window.crossgraph = window.crossgraph || {};
})();
