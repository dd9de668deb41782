// The dashboard's chart of API requests per hour, from the data the page embeds.
(function () {
  "use strict";
  var canvas = document.getElementById("api-hits-chart");
  var source = document.getElementById("api-hits-data");
  if (!canvas || !source || typeof Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var series = [
    ["2xx/3xx", data.ok, "rgba(40, 167, 69, 0.7)"],
    ["4xx", data.client_errors, "rgba(255, 193, 7, 0.8)"],
    ["5xx", data.server_errors, "rgba(220, 53, 69, 0.8)"],
  ];
  window.opsApiHitsChart = new Chart(canvas, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: series.map(function (s) {
        return { label: s[0], data: s[1], backgroundColor: s[2] };
      }),
    },
    options: {
      animation: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
    },
  });
})();
