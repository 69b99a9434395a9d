/*
 * The timeline chart's hover: the frame under the mouse gets a cursor line
 * and its figures (every band's live bytes and blocks, allocations and frees
 * in the frame, budget use; the allocators' figures) in #timeline-info. Plain
 * ES2017, its own function, so a page without a timeline runs the rest.
 */
/** The script, inlined by renderHtml after the page's main script. */
export const TIMELINE_SCRIPT = `
(function () {
  "use strict";
  var dataEl = document.getElementById("timeline-data");
  var svg = document.getElementById("timeline");
  if (!dataEl || !svg) return;
  var d = JSON.parse(dataEl.textContent);
  var info = document.getElementById("timeline-info");
  var cursor = document.getElementById("timeline-cursor");
  var n = d.frames.length;
  var UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
  function bytes(v) {
    var a = Math.abs(v), u = 0;
    while (a >= 1024 && u < UNITS.length - 1) { a /= 1024; u++; }
    return (v < 0 ? "-" : "") + (u === 0 ? a + " B" : a.toFixed(a < 10 ? 2 : 1) + " " + UNITS[u]);
  }
  function count(v) { return String(Math.trunc(v)).replace(/\\B(?=(\\d{3})+(?!\\d))/g, ","); }
  function show(i) {
    var x = d.left + (n === 1 ? d.width / 2 : (i * d.width) / (n - 1));
    cursor.setAttribute("x1", x.toFixed(1));
    cursor.setAttribute("x2", x.toFixed(1));
    cursor.setAttribute("visibility", "visible");
    var total = 0;
    d.bands.forEach(function (b) { total += b.liveBytes[i]; });
    var lines = ["frame " + count(d.frames[i]) + ": " + bytes(total) + " live in the scopes drawn"];
    d.bands.slice().reverse().forEach(function (b) {
      if (b.liveBytes[i] === 0 && b.allocs[i] === 0 && b.frees[i] === 0) return;
      var line = b.path + ": " + bytes(b.liveBytes[i]) + " in " + count(b.liveCount[i]) + " blocks, +" + count(b.allocs[i]) + " / -" + count(b.frees[i]) + " this frame";
      if (b.budgetBytes[i] > 0) line += ", budget " + (100 * b.totalBytes[i] / b.budgetBytes[i]).toFixed(1) + "% of " + bytes(b.budgetBytes[i]);
      if (b.suspect) line += "  [leak suspect]";
      lines.push(line);
    });
    var a = d.allocators;
    lines.push("pages handed out " + bytes(a.pagesBytes[i]) + ", generic reserved " + bytes(a.genericReservedBytes[i]) +
      ", frame " + bytes(a.frameLiveBytes[i]) + " of " + bytes(a.frameReservedBytes[i]) +
      ", scratch peak " + bytes(a.scratchPeakBytes[i]) + " of " + bytes(a.scratchReservedBytes[i]));
    info.textContent = lines.join("\\n");
    info.dataset.frame = String(d.frames[i]);
  }
  svg.addEventListener("mousemove", function (e) {
    var box = svg.getBoundingClientRect();
    var px = e.clientX - box.left;
    if (px < d.left - 4 || px > d.left + d.width + 4) return;
    var i = n === 1 ? 0 : Math.round(((px - d.left) / d.width) * (n - 1));
    show(Math.max(0, Math.min(n - 1, i)));
  });
})();
`;
