import { FLAME_CHAR_WIDTH, FLAME_WIDTH } from "./flame-graph.js";

/*
 * The page's only script: flame-graph metric switch and click-to-zoom, and
 * the memory-map canvas (painting, view switch, hover details). Plain ES2017
 * so any current browser runs it; it reads the map model from the JSON
 * element renderMemoryMap writes. Its number formats mirror @memkit/core's
 * formatBytes / formatCount / hex, which the standalone page cannot import.
 */
/** The page's script (flame graphs and memory map), inlined by renderHtml. */
export const CLIENT_SCRIPT = `
(function () {
  "use strict";
  var UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
  function bytes(n) {
    var v = Math.abs(n), u = 0;
    while (v >= 1024 && u < UNITS.length - 1) { v /= 1024; u++; }
    return (n < 0 ? "-" : "") + (u === 0 ? v + " B" : v.toFixed(v < 10 ? 2 : 1) + " " + UNITS[u]);
  }
  function count(n) { return String(Math.trunc(n)).replace(/\\B(?=(\\d{3})+(?!\\d))/g, ","); }
  function hex(n) { return "0x" + n.toString(16).padStart(8, "0"); }
  function all(root, sel) { return Array.prototype.slice.call(root.querySelectorAll(sel)); }

  // ---------------------------------------------------------------- flame graphs
  var W = ${FLAME_WIDTH}, CH = ${FLAME_CHAR_WIDTH}, EPS = 1e-9;
  function fit(name, w) {
    var chars = Math.floor((w - 6) / CH);
    if (chars >= name.length) return name;
    return chars < 4 ? "" : name.slice(0, chars - 2) + "..";
  }
  function zoom(svg, target) {
    var z0 = +target.dataset.x0, z1 = +target.dataset.x1, zd = +target.dataset.d, span = z1 - z0 || 1;
    all(svg, "g.fr").forEach(function (g) {
      var x0 = +g.dataset.x0, x1 = +g.dataset.x1, d = +g.dataset.d;
      var inside = d >= zd && x0 >= z0 - EPS && x1 <= z1 + EPS;
      var ancestor = d < zd && x0 <= z0 + EPS && x1 >= z1 - EPS;
      if (!inside && !ancestor) { g.style.display = "none"; return; }
      g.style.display = "";
      var a = ancestor ? 0 : ((x0 - z0) / span) * W, b = ancestor ? W : ((x1 - z0) / span) * W;
      var rect = g.querySelector("rect"), text = g.querySelector("text");
      rect.setAttribute("x", a.toFixed(2));
      rect.setAttribute("width", Math.max(0.5, b - a - 0.5).toFixed(2));
      text.setAttribute("x", (a + 3).toFixed(2));
      text.textContent = fit(g.dataset.n, b - a);
      g.classList.toggle("dim", ancestor);
    });
    svg.dataset.zoomed = zd === 0 ? "" : target.dataset.n;
  }
  all(document, "svg.flame").forEach(function (svg) {
    svg.addEventListener("click", function (e) {
      var g = e.target.closest ? e.target.closest("g.fr") : null;
      if (g) zoom(svg, g);
    });
  });
  all(document, "button.flame-reset").forEach(function (button) {
    button.addEventListener("click", function () {
      var svg = document.getElementById(button.dataset.target);
      var root = svg && svg.querySelector("g.fr[data-d='0']");
      if (root) zoom(svg, root);
    });
  });
  all(document, "input[name=flame-metric]").forEach(function (input) {
    input.addEventListener("change", function () {
      all(document, ".flame-panel").forEach(function (p) { p.hidden = p.dataset.metric !== input.value; });
    });
  });

  // ---------------------------------------------------------------- memory map
  var dataEl = document.getElementById("memory-map-data");
  var canvas = document.getElementById("memory-map");
  if (!dataEl || !canvas || !canvas.getContext) return;
  var m = JSON.parse(dataEl.textContent);
  var info = document.getElementById("map-info");
  var GUTTER = 92, cw = m.cellPx, gap = cw >= 6 ? 1 : 0;
  var rows = Math.ceil(m.cellCount / m.columns);
  var width = GUTTER + m.columns * cw, height = Math.max(cw, rows * cw);
  var dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = width + "px";
  canvas.style.height = height + "px";
  var ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  var cellBytes = m.pagesPerCell * m.pageSize;
  var mode = "owner";

  function draw() {
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.font = "11px ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace";
    ctx.textBaseline = "middle";
    ctx.fillStyle = "#5b6472";
    var every = Math.max(1, Math.ceil(14 / cw));
    for (var r = 0; r < rows; r += every) ctx.fillText(hex(r * m.columns * cellBytes), 2, Math.max(6, r * cw + cw / 2));
    var s = cw - gap;
    for (var c = 0; c < m.cellCount; c++) {
      var x = GUTTER + (c % m.columns) * cw, y = Math.floor(c / m.columns) * cw;
      var k = m.cellOwner[c], color = m.legend[k].color;
      if (mode === "scope" && k > 2) {
        var sc = m.cellScope[c];
        color = sc >= 0 ? m.scopeLegend[sc].color : m.noScopeColor;
      }
      ctx.fillStyle = color;
      if (k <= 2) {
        ctx.fillRect(x, y, s, s);
        if (k === 2 && s >= 6) { ctx.strokeStyle = "#d5dae1"; ctx.lineWidth = 1; ctx.strokeRect(x + 0.5, y + 0.5, s - 1, s - 1); }
        continue;
      }
      var f = m.cellUsed[c] < 0 ? 1 : Math.min(1, m.cellUsed[c] / cellBytes);
      if (f < 1) { ctx.globalAlpha = 0.28; ctx.fillRect(x, y, s, s); ctx.globalAlpha = 1; }
      var h = f * s;
      if (f > 0 && h < 1) h = 1;
      ctx.fillRect(x, y + s - h, s, h);
    }
    canvas.dataset.cellsDrawn = String(m.cellCount);
    canvas.dataset.mode = mode;
  }

  function findSpan(addr) {
    var lo = 0, hi = m.spans.length - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1, sp = m.spans[mid];
      if (addr < sp[0]) hi = mid - 1;
      else if (addr >= sp[0] + sp[1]) lo = mid + 1;
      else return sp;
    }
    return null;
  }

  function describe(c) {
    var first = c * m.pagesPerCell, n = Math.min(m.pagesPerCell, m.pageCount - first);
    var start = first * m.pageSize, end = start + n * m.pageSize;
    var lines = [(n === 1 ? "page " + count(first) : count(n) + " pages from page " + count(first)) + ": " + hex(start) + " - " + hex(end)];
    var k = m.cellOwner[c];
    lines.push((n === 1 ? "" : "mostly ") + m.legend[k].label);
    m.regions.forEach(function (r) {
      if (r.start < end && r.start + r.bytes > start) lines.push("region " + r.name + ": " + hex(r.start) + " + " + bytes(r.bytes) + " (" + count(r.bytes) + " B)");
    });
    var sp = findSpan(start);
    if (sp) lines.push((sp[2] ? "used span of " + m.legend[sp[3]].label : "free span") + ": " + hex(sp[0]) + " + " + bytes(sp[1]) + " (" + count(sp[1] / m.pageSize) + (sp[1] === m.pageSize ? " page)" : " pages)"));
    if (m.cellUsed[c] < 0) lines.push("in use: whole pages handed out (the report has no finer figure)");
    else if (k > 2 || n > 1) {
      var used = m.cellUsed[c], whole = n * m.pageSize;
      lines.push("in use: " + bytes(used) + " of " + bytes(whole) + " (" + count(used) + " of " + count(whole) + " B, " + (100 * used / whole).toFixed(1) + "%)");
    }
    var scope = m.cellScope[c];
    if (scope >= 0) lines.push("dominant scope: " + m.scopeLegend[scope].label);
    return lines;
  }

  canvas.addEventListener("mousemove", function (e) {
    var box = canvas.getBoundingClientRect();
    var x = e.clientX - box.left - GUTTER, y = e.clientY - box.top;
    var col = Math.floor(x / cw), row = Math.floor(y / cw), c = row * m.columns + col;
    if (x < 0 || col >= m.columns || c < 0 || c >= m.cellCount) { canvas.title = ""; return; }
    var lines = describe(c);
    info.textContent = lines.join("  |  ");
    canvas.title = lines.join("\\n");
  });
  all(document, "input[name=map-mode]").forEach(function (input) {
    input.addEventListener("change", function () {
      mode = input.value;
      document.getElementById("map-legend-owner").hidden = mode !== "owner";
      document.getElementById("map-legend-scope").hidden = mode !== "scope";
      draw();
    });
  });
  draw();
})();
`;
