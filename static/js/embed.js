// Inside the widget's frame only (the page works the same without this file).
// Answers the widget's hello only from one of the workspace's allowed origins,
// and posts only to that origin: the page's height, the outcome on the done
// page, and "close" for Esc or a way back to the host's page.
(function () {
  "use strict";
  if (window.parent === window) return;
  var data = document.getElementById("cf-embed");
  var config = data ? JSON.parse(data.textContent) : null;
  if (!config) return;
  document.documentElement.classList.add("embedded");
  var host = null;
  var back = config.return_url ? new URL(config.return_url, location.href).href : "";
  var lastHeight = 0;

  function allowed(origin) {
    return config.origins.indexOf(origin) !== -1 || (config.self && origin === location.origin);
  }
  function post(message) {
    if (!host) return;
    message.source = "cancelflow";
    window.parent.postMessage(message, host);
  }
  function height() {
    return Math.ceil(document.body.getBoundingClientRect().height);
  }
  function resized() {
    var h = height();
    if (h !== lastHeight) {
      lastHeight = h;
      post({ type: "resize", height: h });
    }
  }
  function focusables() {
    return Array.prototype.filter.call(
      document.querySelectorAll("a[href], button, input, textarea, select"),
      function (el) { return !el.disabled && el.offsetParent !== null; }
    );
  }

  window.addEventListener("message", function (event) {
    var message = event.data;
    if (event.source !== window.parent || !message || message.source !== "cancelflow") return;
    if (!allowed(event.origin)) return;
    if (message.type === "hello") {
      host = event.origin;
      lastHeight = height();
      post({ type: "ready", height: lastHeight });
      if (config.outcome) post(config.outcome);
      if (typeof ResizeObserver === "function") new ResizeObserver(resized).observe(document.body);
    } else if (message.type === "focus") {
      var items = focusables();
      var target = message.last ? items[items.length - 1] : document.getElementById("main");
      if (target) {
        if (target.id === "main") target.setAttribute("tabindex", "-1");
        target.focus();
      }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") post({ type: "close" });
  });
  // Keeping the subscription ends on the done page inside the frame (which tells
  // the host "kept"), not on the host's own page loaded into the frame.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("keep") || form.elements.framed) return;
    var flag = document.createElement("input");
    flag.type = "hidden";
    flag.name = "framed";
    flag.value = "1";
    form.appendChild(flag);
  });
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    if (host && link && back && link.href === back) {
      event.preventDefault();
      post({ type: "close" });
    }
  });
})();
