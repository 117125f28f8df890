// Tilsvar wall screen: large numbers and charts for an office screen, updated live over server-sent
// events and rotating between boards. A static file (strict CSP); data arrives as JSON only.
(function () {
  "use strict";

  const charts = {};
  let boards = [];
  let current = 0;

  // Words in the page's language (a JSON block the server renders; English when absent).
  const WORDS = (function () {
    const block = document.getElementById("ui-words");
    try { return block ? JSON.parse(block.textContent) : {}; } catch (error) { return {}; }
  })();
  function t(text, values) {
    const out = WORDS[text] || text;
    if (!values) return out;
    return out.replace(/%\((\w+)\)[sd]/g, function (m, name) { return name in values ? String(values[name]) : m; });
  }

  function get(data, path) {
    return path.split(".").reduce(function (value, key) { return value == null ? value : value[key]; }, data);
  }

  function minutes(value) {
    value = Math.max(Number(value) || 0, 0);
    if (value < 60) return t("%(minutes)d min", { minutes: Math.floor(value) });
    const hours = Math.floor(value / 60);
    if (hours < 24) return t("%(hours)d h %(minutes)d min", { hours: hours, minutes: Math.floor(value % 60) });
    return t("%(days)d d %(hours)d h", { days: Math.floor(hours / 24), hours: hours % 24 });
  }

  function show(element, value) {
    const format = element.dataset.format;
    if (format === "pct") element.textContent = Math.round((Number(value) || 0) * 100) + " %";
    else if (format === "minutes") element.textContent = minutes(value);
    else element.textContent = value == null ? "–" : String(value);
  }

  function upsert(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas || !window.Chart) return;
    if (charts[id]) {
      charts[id].data = config.data;
      charts[id].update("none");
      return;
    }
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false },
                                   config.options || {});
    charts[id] = new window.Chart(canvas, config);
  }

  function render(data) {
    document.querySelectorAll("[data-field]").forEach(function (element) {
      show(element, get(data, element.dataset.field));
    });
    const clock = document.getElementById("wall-clock");
    if (clock) clock.textContent = data.as_of.slice(11, 16) + " UTC";
    const dist = data.today.frt_distribution;
    upsert("wall-frt", {
      type: "bar",
      data: { labels: dist.labels, datasets: [{ label: t("Answered"), data: dist.counts,
              backgroundColor: dist.within_target.map(function (ok) { return ok ? "#2a9d8f" : "#e76f51"; }) }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    upsert("wall-channels", {
      type: "bar",
      data: { labels: data.channels.map(function (r) { return r.label; }),
              datasets: [{ label: t("Inquiries"), data: data.channels.map(function (r) { return r.inquiries; }), backgroundColor: "#1f5f8b" },
                         { label: t("Answered"), data: data.channels.map(function (r) { return r.answered; }), backgroundColor: "#2a9d8f" }] },
      options: { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    upsert("wall-topics", {
      type: "bar",
      data: { labels: data.topics.map(function (r) { return r.label; }),
              datasets: [{ label: t("Inquiries"), data: data.topics.map(function (r) { return r.inquiries; }), backgroundColor: "#457b9d" }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    upsert("wall-trend", {
      type: "line",
      data: { labels: data.trend.labels.map(function (l) { return l.slice(11, 16); }),
              datasets: [{ label: t("Inquiries"), data: data.trend.inquiries, borderColor: "#1f5f8b", backgroundColor: "#1f5f8b" },
                         { label: t("Answered"), data: data.trend.answered, borderColor: "#2a9d8f", backgroundColor: "#2a9d8f" }] },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    document.body.dataset.updated = data.as_of;
  }

  function rotate() {
    if (boards.length < 2) return;
    boards[current].hidden = true;
    current = (current + 1) % boards.length;
    boards[current].hidden = false;
    const id = boards[current].querySelector("canvas");
    if (id && charts[id.id]) charts[id.id].resize();
  }

  function connect() {
    const status = document.getElementById("wall-live");
    const source = new EventSource(document.body.dataset.events);
    source.addEventListener("kpis", function (event) { render(JSON.parse(event.data)); });
    source.addEventListener("revoked", function () {
      source.close();
      document.body.innerHTML = "";
      const message = document.createElement("p");
      message.className = "wall-revoked";
      message.textContent = t("This wall screen link was revoked.");
      document.body.appendChild(message);
    });
    source.onopen = function () { if (status) status.classList.add("on"); };
    source.onerror = function () { if (status) status.classList.remove("on"); };
  }

  document.addEventListener("DOMContentLoaded", function () {
    const data = JSON.parse(document.getElementById("wall-data").textContent);
    if (window.Chart) {
      window.Chart.defaults.color = "#e6eaf0";
      window.Chart.defaults.font.size = 18;
      window.Chart.defaults.borderColor = "#2e3742";
    }
    const wanted = data.boards || [];
    boards = Array.prototype.filter.call(document.querySelectorAll(".board"), function (board) {
      return wanted.indexOf(board.dataset.board) >= 0;
    });
    document.querySelectorAll(".board").forEach(function (board) { board.hidden = boards.indexOf(board) !== 0; });
    render(data);
    connect();
    setInterval(rotate, Math.max(Number(document.body.dataset.rotate) || 20, 5) * 1000);
  });
})();
