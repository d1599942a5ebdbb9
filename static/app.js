// pulse-etl client: auto-refresh of the live dashboard section. No inline scripts (CSP).
(function () {
  "use strict";
  var LIVE_ID = "dashboard-live";
  var SELECT_ID = "auto-refresh";
  var STORAGE_KEY = "pulse.autoRefreshSeconds";
  var timer = null;

  function refreshLive() {
    var live = document.getElementById(LIVE_ID);
    if (!live || !window.htmx || document.hidden) return;
    window.htmx.ajax("GET", window.location.pathname, { target: "#" + LIVE_ID, swap: "outerHTML" });
  }

  function schedule(seconds) {
    if (timer) { clearInterval(timer); timer = null; }
    if (seconds > 0) timer = setInterval(refreshLive, seconds * 1000);
  }

  function init() {
    var select = document.getElementById(SELECT_ID);
    if (!select) return;
    var saved = null;
    try { saved = window.localStorage.getItem(STORAGE_KEY); } catch (e) { /* storage may be off */ }
    if (saved !== null && select.querySelector('option[value="' + saved + '"]')) select.value = saved;
    schedule(parseInt(select.value, 10) || 0);
    select.addEventListener("change", function () {
      try { window.localStorage.setItem(STORAGE_KEY, select.value); } catch (e) { /* ignore */ }
      schedule(parseInt(select.value, 10) || 0);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
