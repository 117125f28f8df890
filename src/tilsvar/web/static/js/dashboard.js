// Tilsvar dashboard: draws the charts from the page's JSON data block with the vendored Chart.js.
// A static file (strict CSP: no inline scripts); the numbers and tables are server-rendered HTML.
(function () {
  "use strict";

  const PALETTE = ["#1f5f8b", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#6d597a", "#457b9d",
                   "#8ab17d", "#b56576", "#264653"];
  const SENTIMENT = { positive: "#2a9d8f", neutral: "#8d99ae", negative: "#e63946", "": "#c9ced6" };
  // Chart words in the page's language (a JSON block the server renders; English when absent).
  const WORDS = (function () {
    const block = document.getElementById("ui-words");
    try { return block ? JSON.parse(block.textContent) : {}; } catch (error) { return {}; }
  })();
  function t(text, values) {
    const out = WORDS[text] || text;
    if (!values) return out;
    return out.replace(/%\((\w+)\)[sd]/g, function (m, name) { return name in values ? String(values[name]) : m; });
  }

  function label(iso, hours) {
    const d = new Date(iso);
    const day = d.toISOString().slice(5, 10);
    return hours < 24 ? day + " " + d.toISOString().slice(11, 16) : day;
  }

  function chart(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas || !window.Chart) return null;
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false },
                                   config.options || {});
    return new window.Chart(canvas, config);
  }

  function draw(data) {
    const text = getComputedStyle(document.body).color;
    window.Chart.defaults.color = text;
    const series = data.series;
    chart("chart-volume", {
      type: "bar",
      data: {
        labels: series.labels.map(function (l) { return label(l, series.bucket_hours); }),
        datasets: (series.by || []).slice(0, 8).map(function (row, i) {
          return { label: row.label, data: row.data, backgroundColor: PALETTE[i % PALETTE.length], stack: "v" };
        }),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
                 plugins: { legend: { position: "bottom" } } },
    });
    const dist = data.current.frt_distribution;
    chart("chart-frt", {
      type: "bar",
      data: {
        labels: dist.labels,
        datasets: [{ label: t("Answered inquiries"), data: dist.counts,
                     backgroundColor: dist.within_target.map(function (ok) { return ok ? "#2a9d8f" : "#e76f51"; }) }],
      },
      options: { plugins: { legend: { display: false },
                            subtitle: { display: true, text: t("green: within the %(minutes)s min target", { minutes: Math.round(dist.target) }) } },
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    const csat = data.current.csat;
    chart("chart-csat", {
      type: "doughnut",
      data: { labels: [t("Happy"), t("Neutral"), t("Sad")],
              datasets: [{ data: [csat.happy, csat.neutral, csat.sad],
                           backgroundColor: ["#2a9d8f", "#e9c46a", "#e63946"] }] },
      options: { plugins: { legend: { position: "bottom" },
                            subtitle: { display: true, text: t("target %(percent)s happy", { percent: Math.round(csat.target * 100) + " %" }) } } },
    });
    chart("chart-sentiment", {
      type: "doughnut",
      data: { labels: data.sentiment.map(function (r) { return t(r.label); }),
              datasets: [{ data: data.sentiment.map(function (r) { return r.conversations; }),
                           backgroundColor: data.sentiment.map(function (r) { return SENTIMENT[r.key] || "#c9ced6"; }) }] },
      options: { plugins: { legend: { position: "bottom" } } },
    });
    const intents = data.intent.slice(0, 10);
    chart("chart-intent", {
      type: "bar",
      data: { labels: intents.map(function (r) { return t(r.label); }),
              datasets: [{ label: t("Inquiries"), data: intents.map(function (r) { return r.inquiries; }),
                           backgroundColor: "#457b9d" }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } },
                 scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    document.body.dataset.chartsReady = "yes";
  }

  document.addEventListener("DOMContentLoaded", function () {
    const block = document.getElementById("dashboard-data");
    if (!block) return;
    draw(JSON.parse(block.textContent));
  });
})();
