/** The page's style sheet (inline: the page loads nothing). */
export const STYLES = `
:root { --ink: #1f2430; --muted: #5b6472; --line: #dfe3e8; --accent: #4e79a7; --hot: #f28e2b; --bad: #e15759; --bg: #ffffff; --panel: #f7f8fa; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h1 .label { font-weight: 400; color: var(--muted); }
h2 { font-size: 18px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta, .note, .muted { color: var(--muted); }
.note { margin: 4px 0 10px; max-width: 980px; }
code { font: 12.5px ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; background: var(--panel); padding: 1px 4px; border-radius: 3px; }
nav { margin: 12px 0 0; display: flex; gap: 14px; flex-wrap: wrap; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin-top: 14px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.card b { display: block; font-size: 19px; font-variant-numeric: tabular-nums; }
.card span { color: var(--muted); font-size: 12.5px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12.5px; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 3px 8px; border-bottom: 1px solid #eef0f3; white-space: nowrap; vertical-align: middle; }
tbody tr:hover { background: #f2f6fb; }
td.num, th.num, span.num { text-align: right; font-variant-numeric: tabular-nums; }
span.num { margin-left: 8px; }
td.scope { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 13px; }
.guide { color: #a3aab5; white-space: pre; }
.barcell { width: 30%; min-width: 180px; }
.bar { position: relative; display: inline-block; vertical-align: middle; width: 100%; max-width: 320px; height: 12px; background: #edf0f4; border-radius: 2px; }
.bar.small { width: 60px; height: 9px; margin-right: 6px; }
.bar .fill { position: absolute; left: 0; top: 0; bottom: 0; background: var(--accent); border-radius: 2px; }
.bar .fill.warn { background: var(--hot); }
.bar .fill.label { background: #8cc084; }
tr.label-row td { color: var(--muted); font-size: 0.92em; }
.bar .peak { position: absolute; top: -2px; bottom: -2px; width: 2px; margin-left: -1px; background: var(--bad); }
.owners .bar { width: 160px; }
.budget { display: inline-block; vertical-align: middle; position: relative; width: 70px; height: 9px; background: #edf0f4; border-radius: 2px; }
.budget .fill { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 2px; background: #59a14f; }
.budget.near .fill { background: var(--hot); }
.budget.over .fill { background: var(--bad); }
.controls { margin: 6px 0; display: flex; gap: 14px; align-items: center; flex-wrap: wrap; color: var(--muted); }
.controls label { color: var(--ink); cursor: pointer; }
button { font: inherit; font-size: 13px; padding: 2px 10px; border: 1px solid var(--line); background: var(--panel); border-radius: 4px; cursor: pointer; }
button:hover { background: #e9eef5; }
svg.flame { display: block; border: 1px solid var(--line); border-radius: 4px; background: #fbfbfc; }
svg.flame text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; fill: #1b1f27; pointer-events: none; }
svg.flame g.fr { cursor: pointer; }
svg.flame g.fr:hover rect { stroke: #1b1f27; stroke-width: 1; }
svg.flame g.fr.dim rect { opacity: 0.55; }
.scroll { overflow-x: auto; }
svg.stages text { font: 12.5px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; fill: var(--ink); }
svg.stages .stage-name { font-weight: 600; }
svg.stages .stage-frames { fill: var(--muted); font-size: 11.5px; }
svg.stages .scope-label { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 12px; }
svg.stages .stripe { fill: #f6f7f9; }
svg.stages .slot { fill: #edf0f4; }
svg.stages .peakbar { fill: var(--accent); }
svg.stages .endtick { fill: #1f2430; }
svg.stages .cell.top .peakbar { fill: var(--hot); }
svg.stages .cell.top .figure { font-weight: 700; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin: 8px 0; }
.swatch { display: inline-flex; align-items: center; gap: 6px; font-size: 13px; }
.swatch i { display: inline-block; width: 14px; height: 14px; border-radius: 2px; border: 1px solid rgba(0,0,0,0.15); }
.swatch small { color: var(--muted); }
.map-info { font: 12.5px ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: 5px 8px; margin: 6px 0; min-height: 2.2em; white-space: pre-wrap; }
canvas#memory-map { display: block; cursor: crosshair; }
svg.hist { vertical-align: middle; }
svg.timeline { display: block; }
svg.timeline text { font: 11.5px system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; fill: var(--muted); }
svg.timeline .grid { stroke: #eef0f3; }
svg.timeline .band { stroke: rgba(255,255,255,0.6); stroke-width: 0.5; }
svg.timeline .band.suspect { stroke: var(--bad); stroke-width: 1.5; }
svg.timeline .stage { fill: #f3f5f8; }
svg.timeline .stage.odd { fill: #e9edf2; }
svg.timeline .stage-mark { stroke: #8a93a0; stroke-dasharray: 3 3; }
svg.timeline .stage-label { fill: var(--ink); font-weight: 600; }
svg.timeline .cursor { stroke: var(--ink); stroke-width: 1; pointer-events: none; }
svg.timeline .hit { fill: transparent; cursor: crosshair; }
.swatch.suspect b { color: var(--bad); font-weight: 600; margin-left: 4px; }
pre.suspects { font: 12.5px ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; background: var(--panel); border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px; white-space: pre-wrap; }
pre.suspects.found { border-color: var(--bad); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;
