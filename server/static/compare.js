// The compare page's charts: the centers that have the chosen service, side by side (their
// figures ride in the page as JSON; the table beside them is rendered by the server).
"use strict";
(() => {
  const d = JSON.parse(document.getElementById("compare-data").textContent);
  Charts.centers(["chart-compare-issued", "chart-compare-p90"], d.rows, d.threshold);
  document.getElementById("service").addEventListener("change", (e) => e.target.form.requestSubmit());
})();
