// Follow the tail of a run's log while the reader is at its bottom; stop
// following as soon as they scroll up, resume when they scroll back down.
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
    el.scrollTop = el.scrollHeight;
    el.addEventListener("scroll", function () { following = atBottom(el); });
  });

  document.addEventListener("htmx:oobAfterSwap", function () {
    var el = log();
    if (el && following) el.scrollTop = el.scrollHeight;
  });
})();

// Line numbers beside each file's text on the playbook form, so that a YAML
// error ("line 7") is easy to find. Without JavaScript the gutter stays hidden.
(function () {
  "use strict";

  function number(area, gutter) {
    var count = area.value.split("\n").length, lines = [];
    for (var i = 1; i <= count; i++) lines.push(i);
    gutter.textContent = lines.join("\n");
    gutter.scrollTop = area.scrollTop;
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".code-edit").forEach(function (box) {
      var area = box.querySelector("textarea"), gutter = box.querySelector(".gutter");
      if (!area || !gutter) return;
      gutter.hidden = false;
      number(area, gutter);
      area.addEventListener("input", function () { number(area, gutter); });
      area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
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
