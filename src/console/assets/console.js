// pingate console: local times, countdowns, live updates (server-sent
// events) and focus. Plain JS, no dependencies; pages work without it,
// only less live.
"use strict";

(function () {
  function pad(n) { return n < 10 ? "0" + n : String(n); }

  // <time datetime="...Z">: the browser's local time; the UTC value stays
  // in the title, shown on hover.
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime())) { return; }
      el.textContent = d.toLocaleString([], {
        year: "numeric", month: "short", day: "numeric",
        hour: "2-digit", minute: "2-digit", second: "2-digit"
      });
    });
  }

  function minutesSeconds(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var rest = pad(m) + ":" + pad(s % 60);
    return h > 0 ? h + ":" + rest : rest;
  }

  // [data-countdown-to]: time left; [data-since]: time elapsed.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown-to]").forEach(function (el) {
      var left = new Date(el.getAttribute("data-countdown-to")).getTime() - now;
      el.textContent = left > 0 ? minutesSeconds(left) + " left" : "expired";
    });
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var up = now - new Date(el.getAttribute("data-since")).getTime();
      el.textContent = minutesSeconds(up);
    });
  }

  function focusMarked(root) {
    var el = root.querySelector("[data-focus]");
    if (el) { el.focus(); }
  }

  // Replaces the live region with a newer rendering, keeping what the
  // agent is typing and where the focus is.
  function swap(region, html) {
    var active = document.activeElement;
    var activeId = active && region.contains(active) ? active.id : null;
    var typed = {};
    region.querySelectorAll("input[id]").forEach(function (el) {
      if (el.type !== "hidden" && el.value) { typed[el.id] = el.value; }
    });
    region.innerHTML = html;
    Object.keys(typed).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && region.contains(el) && !el.value) { el.value = typed[id]; }
    });
    localTimes(region);
    tick();
    if (activeId && document.getElementById(activeId)) {
      document.getElementById(activeId).focus();
    } else {
      focusMarked(region);
    }
  }

  function live() {
    var region = document.querySelector("[data-live]");
    if (!region || !window.EventSource) { return; }
    var source = new EventSource(region.getAttribute("data-live"));
    source.addEventListener("update", function (e) {
      swap(region, e.data);
      region.setAttribute("data-live-state", "updated");
    });
    source.addEventListener("signed-out", function () {
      source.close();
      window.location.assign("/console/login");
    });
    // A page being left lets go of its stream at once: browsers allow only
    // a few connections per server, and a lingering stream holds one.
    window.addEventListener("pagehide", function () { source.close(); });
    source.addEventListener("open", function () {
      region.setAttribute("data-live-state", "connected");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    tick();
    window.setInterval(tick, 1000);
    focusMarked(document);
    live();
  });
})();
