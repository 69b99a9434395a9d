import {
  GRID_COLS,
  KEEP_DISTANCE,
  KIND_SPEED,
  LOSE_SIGHT,
  MAX_CANDIDATES,
  MAX_EXTRA_WAYPOINTS,
  SIGHT,
  SIGHT_CELLS,
  THINK_INTERVAL,
  WAYPOINT_REACHED,
  cellCenterX,
  cellCenterY,
  cellOf,
} from "../game/config.js";
import type { BaselineGame } from "./baseline-game.js";
import type { Unit } from "./baseline-types.js";

/** The baseline game's AI step: sense, plan and steer over plain objects (baseline-game.ts). */
export function stepAi(game: BaselineGame, dt: number): void {
  for (const unit of game.units) {
    if (unit.health <= 0) continue;
    let t = unit.think - dt;
    if (t <= 0) {
      t += THINK_INTERVAL;
      sense(game, unit);
    }
    unit.think = t;
    steer(game, unit);
  }
}

function sense(game: BaselineGame, unit: Unit): void {
  const units = game.units;
  const home = cellOf(unit.x, unit.y);
  const cx = home % GRID_COLS;
  const cy = (home - cx) / GRID_COLS;
  const candidates: number[] = [];
  for (let dy = -SIGHT_CELLS; dy <= SIGHT_CELLS; dy++) {
    const row = cy + dy;
    if (row < 0 || row >= GRID_COLS) continue;
    for (let dx = -SIGHT_CELLS; dx <= SIGHT_CELLS; dx++) {
      const col = cx + dx;
      if (col < 0 || col >= GRID_COLS) continue;
      const list = game.grid.get(row * GRID_COLS + col);
      if (list === undefined) continue;
      for (const j of list) {
        if (candidates.length >= MAX_CANDIDATES) break;
        const other = units[j]!;
        if (other.team !== unit.team && other.health > 0) candidates.push(j);
      }
    }
  }
  let best = -1;
  let bestD2 = SIGHT * SIGHT;
  for (const j of candidates) {
    const ex = units[j]!.x - unit.x;
    const ey = units[j]!.y - unit.y;
    const d2 = ex * ex + ey * ey;
    if (d2 < bestD2) {
      best = j;
      bestD2 = d2;
    }
  }
  if (best >= 0) {
    unit.target = units[best]!;
    return;
  }
  unit.target = null;
  if (unit.pathPos >= unit.path.length) plan(game, unit);
}

function plan(game: BaselineGame, unit: Unit): void {
  const waypoints = 4 + game.rng.int(0, MAX_EXTRA_WAYPOINTS);
  const path: { x: number; y: number }[] = [];
  let cell = cellOf(unit.x, unit.y);
  for (let k = 0; k < waypoints; k++) {
    const n = game.level.nextCell(unit.team, cell);
    if (n < 0) break;
    cell = n;
    path.push({ x: cellCenterX(cell), y: cellCenterY(cell) });
  }
  unit.path = path;
  unit.pathPos = 0;
}

function steer(game: BaselineGame, unit: Unit): void {
  const speed = KIND_SPEED[unit.kind]!;
  const target = unit.target;
  if (target !== null) {
    if (target.alive && target.health > 0) {
      const ex = target.x - unit.x;
      const ey = target.y - unit.y;
      const d2 = ex * ex + ey * ey;
      if (d2 <= LOSE_SIGHT * LOSE_SIGHT) {
        let s = 0;
        if (d2 > 1e-9) {
          const d = Math.sqrt(d2);
          if (d > KEEP_DISTANCE) s = speed / d;
          else if (d < KEEP_DISTANCE * 0.6) s = (-speed * 0.5) / d;
        }
        unit.tvx = ex * s;
        unit.tvy = ey * s;
        return;
      }
    }
    unit.target = null;
  }
  let pos = unit.pathPos;
  const path = unit.path;
  if (pos < path.length) {
    let ex = path[pos]!.x - unit.x;
    let ey = path[pos]!.y - unit.y;
    if (ex * ex + ey * ey < WAYPOINT_REACHED * WAYPOINT_REACHED) {
      pos++;
      unit.pathPos = pos;
      if (pos < path.length) {
        ex = path[pos]!.x - unit.x;
        ey = path[pos]!.y - unit.y;
      }
    }
    const d2 = ex * ex + ey * ey;
    if (pos < path.length && d2 > 1e-9) {
      const s = speed / Math.sqrt(d2);
      unit.tvx = ex * s;
      unit.tvy = ey * s;
      return;
    }
  }
  unit.tvx = 0;
  unit.tvy = 0;
}
