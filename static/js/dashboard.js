/* Draws the dashboard's charts from the numbers the page embeds (#dashboard-data).
   Every chart's numbers are also in the table under it, so without JavaScript
   (or if this fails) nothing is lost. window.dashboardCharts lists what was drawn. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var palette = ["#1f5fd1", "#e67e22", "#2e8b57", "#8e44ad", "#c0392b", "#16a085", "#d4ac0d", "#7f8c8d", "#34495e"];
  var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.animation = reduced ? false : Chart.defaults.animation;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  window.dashboardCharts = {};

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    window.dashboardCharts[id] = new Chart(canvas, config);
  }

  draw("chart-funnel", {
    type: "bar",
    data: {
      labels: data.funnel.labels,
      datasets: [{
        label: data.labels.sessions,
        data: data.funnel.values,
        backgroundColor: ["#1f5fd1", "#3d7be0", "#5b97ef", "#2e8b57", "#c0392b", "#7f8c8d"]
      }]
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } }
  });

  draw("chart-reasons", {
    type: "bar",
    data: {
      labels: data.reasons.labels,
      datasets: [{ label: data.labels.sessions, data: data.reasons.values, backgroundColor: palette }]
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } }
  });

  var series = data.trends.series.map(function (s, i) {
    return { label: s.label, data: s.values, borderColor: palette[i % palette.length],
             backgroundColor: palette[i % palette.length], tension: 0.25, yAxisID: "y" };
  });
  series.push({ label: data.trends.save_rate.label, data: data.trends.save_rate.values,
                borderColor: "#111", borderDash: [6, 4], backgroundColor: "#111", yAxisID: "y", spanGaps: true });
  draw("chart-trends", {
    type: "line",
    data: { labels: data.trends.labels, datasets: series },
    options: {
      interaction: { mode: "index", intersect: false },
      // The axis fits the data (its top is worked out with the numbers), not 0-100.
      scales: { y: { beginAtZero: true, max: data.trends.y_max, title: { display: true, text: data.labels.share } } }
    }
  });
})();
