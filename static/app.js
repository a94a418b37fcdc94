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
