// Playdeck's few behaviours that need a script. Pages work without it: each
// part here only makes one quicker or nicer. The Content-Security-Policy allows
// no inline script, so every handler lives in this file.

// Follow the tail of a run's log while the reader is at its bottom; stop
// following as soon as they scroll up, resume when they scroll back down. A
// page opened at one line (#line-N) shows that line instead, and does not follow.
(function () {
  "use strict";
  var following = true;

  function log() { return document.getElementById("log"); }

  function atBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var el = log();
    if (!el) return;
    var target = location.hash.indexOf("#line-") === 0 && document.getElementById(location.hash.slice(1));
    if (target && el.contains(target)) {
      following = false;
      el.scrollTop = target.offsetTop - el.clientHeight / 3;
    } else {
      el.scrollTop = el.scrollHeight;
    }
    el.addEventListener("scroll", function () { following = atBottom(el); });
  });

  document.addEventListener("htmx:oobAfterSwap", function () {
    var el = log();
    if (el && following) el.scrollTop = el.scrollHeight;
  });
})();

// A running run's duration ticks every second. The page says when the run
// started and what time it was on the server ([data-since], [data-now]); the
// browser's own clock only counts the seconds since the page got them.
(function () {
  "use strict";
  var seen = new WeakMap();

  function words(value) {
    if (value < 60) return value.toFixed(1) + " s";
    var minutes = Math.floor(value / 60), secs = Math.floor(value % 60);
    if (minutes < 60) return minutes + " min " + secs + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function tick() {
    document.querySelectorAll("[data-since][data-now]").forEach(function (el) {
      if (!seen.has(el)) seen.set(el, Date.now());
      var since = Date.parse(el.getAttribute("data-since"));
      var now = Date.parse(el.getAttribute("data-now"));
      if (isNaN(since) || isNaN(now)) return;
      el.textContent = words(Math.max(0, now - since + Date.now() - seen.get(el)) / 1000);
    });
  }

  setInterval(tick, 1000);
})();

// Line numbers beside each file's text on the playbook form, so that a YAML
// error ("line 7") is easy to find; the line of an error is marked in the
// gutter, from the saved form's error or from the check while one types.
// Without JavaScript the gutter stays hidden.
(function () {
  "use strict";

  function number(box) {
    var area = box.querySelector("textarea"), gutter = box.querySelector(".gutter");
    var count = area.value.split("\n").length;
    var bad = parseInt(box.getAttribute("data-error-line") || "0", 10);
    var lines = document.createDocumentFragment();
    for (var i = 1; i <= count; i++) {
      var line = document.createElement("span");
      line.textContent = i + "\n";
      if (i === bad) line.className = "bad";
      lines.appendChild(line);
    }
    gutter.replaceChildren(lines);
    gutter.scrollTop = area.scrollTop;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".code-edit").forEach(function (box) {
      var area = box.querySelector("textarea"), gutter = box.querySelector(".gutter");
      if (!area || !gutter) return;
      gutter.hidden = false;
      number(box);
      area.addEventListener("input", function () { number(box); });
      area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    });
  });

  // A check's answer says which line is wrong (data-line), or that none is.
  // (An outerHTML swap detaches the element it replaced: look the boxes up.)
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll(".code-edit").forEach(function (box) {
      var check = box.parentNode.querySelector(".check");
      if (!check || !check.textContent) return;
      box.setAttribute("data-error-line", check.getAttribute("data-line") || "");
      number(box);
    });
  });
})();

// Forms with data-confirm ask their question before they are sent (say, before a
// delete). A listener here rather than an onsubmit attribute: the page's
// Content-Security-Policy allows no inline script.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
})();

// Small helpers of forms: parts only useful with a script show themselves
// ([data-needs-js]); a picker's search box does not send the whole form on
// Enter; a form marked data-autosubmit is sent as soon as a choice changes.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-needs-js]").forEach(function (el) { el.hidden = false; });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-picker-search]")) {
      event.preventDefault();
    }
  });

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-autosubmit") && event.target.tagName === "SELECT") {
      form.requestSubmit();
    }
  });
})();
