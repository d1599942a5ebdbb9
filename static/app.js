// pulse-etl client: live dashboard over WebSocket, polling while the socket is down, and the
// auto-refresh selector. No inline scripts (CSP); ids come from views/ids.rs.
(function () {
  "use strict";
  var LIVE_ID = "dashboard-live";
  var SELECT_ID = "auto-refresh";
  var BANNER_ID = "connection-banner";
  var STORAGE_KEY = "pulse.autoRefreshSeconds";
  var FALLBACK_SECONDS = 30;
  var timer = null;
  var socket = null;
  var connected = false;
  var backoff = 1000;
  var refreshPending = null;
  var lastHealth = null;

  function $(id) { return document.getElementById(id); }

  var inFlight = false;
  var leaving = false;
  window.addEventListener("pagehide", function () { leaving = true; });
  window.addEventListener("beforeunload", function () { leaving = true; });
  var again = false;

  // One refresh at a time; a refresh asked for meanwhile runs right after (never dropped).
  function refreshLive() {
    if (!$(LIVE_ID) || leaving) return;
    if (inFlight) { again = true; return; }
    inFlight = true;
    fetch(window.location.pathname, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) { if (!leaving) window.location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        var live = $(LIVE_ID);
        if (html && live) {
          live.outerHTML = html;
          if (window.htmx) window.htmx.process($(LIVE_ID));
        }
      })
      .catch(function () { /* offline: the next tick tries again */ })
      .then(function () {
        inFlight = false;
        if (again) { again = false; refreshLive(); }
      });
  }

  function refreshSoon() {
    if (refreshPending) return;
    refreshPending = setTimeout(function () { refreshPending = null; refreshLive(); }, 150);
  }

  function selectedSeconds() {
    var select = $(SELECT_ID);
    return select ? parseInt(select.value, 10) || 0 : 0;
  }

  function schedule() {
    if (timer) { clearInterval(timer); timer = null; }
    // While the socket is down, poll every 30 s even if auto-refresh is off or slower.
    var seconds = connected ? selectedSeconds() : Math.min(selectedSeconds() || FALLBACK_SECONDS, FALLBACK_SECONDS);
    if (seconds > 0) timer = setInterval(function () { if (!document.hidden) refreshLive(); }, seconds * 1000);
  }

  function banner(text) {
    var b = $(BANNER_ID);
    if (!b) return;
    if (text) { b.textContent = text; b.hidden = false; } else { b.hidden = true; b.textContent = ""; }
  }

  function onEvent(msg) {
    if (msg.type === "progress_update") {
      var card = document.querySelector('[data-job="' + msg.job_type + '"]');
      // A late progress message must not repaint a card that already shows the outcome.
      var shown = card && card.querySelector("[data-status]");
      if (!card || (shown && shown.getAttribute("data-status") !== "RUNNING")) return;
      var bar = card.querySelector("progress");
      if (bar) { bar.value = msg.progress; bar.textContent = msg.progress + "%"; }
      var wrap = card.querySelector('[role="progressbar"]');
      if (wrap) wrap.setAttribute("aria-valuenow", msg.progress);
      var text = card.querySelector('[data-role="message"]');
      if (text) text.textContent = msg.message;
    } else if (msg.type === "job_status") {
      var current = document.querySelector('[data-job="' + msg.job_type + '"] [data-status]');
      if (!current || current.getAttribute("data-status") !== msg.status) refreshSoon();
    } else if (msg.type === "system_health") {
      // The first message is the snapshot of what the page already shows; a change repaints it.
      var seen = msg.database + "/" + msg.integrations;
      if (lastHealth !== null && lastHealth !== seen) refreshSoon();
      lastHealth = seen;
      var live = $(LIVE_ID);
      if (live) live.setAttribute("data-integrations", msg.integrations);
    }
  }

  function connect() {
    if (!$(LIVE_ID) || !window.WebSocket) return;
    var url = (location.protocol === "https:" ? "wss:" : "ws:") + "//" + location.host + "/ws";
    try { socket = new WebSocket(url); } catch (e) { return retry(); }
    socket.onopen = function () {
      connected = true;
      backoff = 1000;
      banner(null);
      document.body.setAttribute("data-live", "on");
      schedule();
      refreshSoon();
    };
    socket.onmessage = function (ev) {
      try { onEvent(JSON.parse(ev.data)); } catch (e) { /* ignore malformed */ }
    };
    socket.onclose = function () {
      if (leaving) return;
      var was = connected;
      connected = false;
      socket = null;
      document.body.setAttribute("data-live", "off");
      banner("Live updates are disconnected; refreshing every " + FALLBACK_SECONDS + " s while reconnecting…");
      schedule();
      if (was) refreshLive();
      retry();
    };
  }

  function retry() {
    var wait = Math.round(backoff * (0.5 + Math.random() / 2));
    backoff = Math.min(backoff * 2, 30000);
    setTimeout(connect, wait);
  }

  // "(in 12 min)" beside next run and next retry times.
  function tickCountdowns() {
    var now = Date.now();
    var els = document.querySelectorAll("[data-countdown]");
    for (var i = 0; i < els.length; i++) {
      var mins = Math.floor((Date.parse(els[i].getAttribute("data-countdown")) - now) / 60000);
      els[i].textContent = mins <= 0 ? "(due now)" : mins < 60 ? "(in " + mins + " min)" : "(in " + Math.floor(mins / 60) + " h " + (mins % 60) + " min)";
    }
  }

  function init() {
    setInterval(tickCountdowns, 15000);
    var select = $(SELECT_ID);
    if (select) {
      var saved = null;
      try { saved = window.localStorage.getItem(STORAGE_KEY); } catch (e) { /* storage may be off */ }
      if (saved !== null && select.querySelector('option[value="' + saved + '"]')) select.value = saved;
      select.addEventListener("change", function () {
        try { window.localStorage.setItem(STORAGE_KEY, select.value); } catch (e) { /* ignore */ }
        schedule();
      });
    }
    schedule();
    connect();
    // A control's answer (an htmx swap) may land after newer live events: re-read once more.
    document.body.addEventListener("htmx:afterSwap", function (ev) {
      if (ev.detail && ev.detail.target && ev.detail.target.id === LIVE_ID) setTimeout(refreshLive, 300);
    });
    // Tests (and curious people) can drop the socket to see the fallback.
    window.pulseLive = { disconnect: function () { if (socket) socket.close(); }, isConnected: function () { return connected; } };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
