import {
  BULLET_RADIUS,
  EVENT_HIT,
  GRID_COLS,
  STEERING,
  WORLD_SIZE,
  cellOf,
} from "../game/config.js";
import type { BaselineGame } from "./baseline-game.js";
import { swapRemove } from "./baseline-types.js";

/** The baseline game's physics step: the memkit game's rules over plain objects (baseline-game.ts). */
export function stepPhysics(game: BaselineGame, dt: number): void {
  const units = game.units;
  const level = game.level;
  const k = STEERING * dt;
  for (const u of units) {
    let nvx = u.vx;
    let nvy = u.vy;
    nvx += (u.tvx - nvx) * k;
    nvy += (u.tvy - nvy) * k;
    const r = u.radius;
    let nx = u.x + nvx * dt;
    let ny = u.y + nvy * dt;
    if (nx < r) nx = r;
    else if (nx > WORLD_SIZE - r) nx = WORLD_SIZE - r;
    if (ny < r) ny = r;
    else if (ny > WORLD_SIZE - r) ny = WORLD_SIZE - r;
    if (level.blocked(nx, ny)) {
      nx = u.x;
      ny = u.y;
      nvx = -nvx * 0.5;
      nvy = -nvy * 0.5;
    }
    u.x = nx;
    u.y = ny;
    u.vx = nvx;
    u.vy = nvy;
  }
  // The spatial hash: a Map from cell to the indexes of the units in it.
  const grid = new Map<number, number[]>();
  for (let i = 0; i < units.length; i++) {
    const cell = cellOf(units[i]!.x, units[i]!.y);
    const list = grid.get(cell);
    if (list === undefined) grid.set(cell, [i]);
    else list.push(i);
  }
  game.grid = grid;
  // Separation: collect overlapping pairs, then push each pair apart.
  const contacts: [number, number][] = [];
  for (let i = 0; i < units.length; i++) {
    const a = units[i]!;
    const home = cellOf(a.x, a.y);
    const cx = home % GRID_COLS;
    const cy = (home - cx) / GRID_COLS;
    for (let dy = -1; dy <= 1; dy++) {
      const row = cy + dy;
      if (row < 0 || row >= GRID_COLS) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const col = cx + dx;
        if (col < 0 || col >= GRID_COLS) continue;
        const list = grid.get(row * GRID_COLS + col);
        if (list === undefined) continue;
        for (const j of list) {
          if (j <= i) continue;
          const b = units[j]!;
          const ex = b.x - a.x;
          const ey = b.y - a.y;
          const rr = a.radius + b.radius;
          if (ex * ex + ey * ey < rr * rr) contacts.push([i, j]);
        }
      }
    }
  }
  for (const [i, j] of contacts) {
    const a = units[i]!;
    const b = units[j]!;
    const ex = b.x - a.x;
    const ey = b.y - a.y;
    const d2 = ex * ex + ey * ey;
    const rr = a.radius + b.radius;
    if (d2 >= rr * rr || d2 < 1e-9) continue;
    const d = Math.sqrt(d2);
    const push = ((rr - d) * 0.5) / d;
    const nxi = a.x - ex * push;
    const nyi = a.y - ey * push;
    if (!level.blocked(nxi, nyi)) {
      a.x = nxi;
      a.y = nyi;
    }
    const nxj = b.x + ex * push;
    const nyj = b.y + ey * push;
    if (!level.blocked(nxj, nyj)) {
      b.x = nxj;
      b.y = nyj;
    }
  }
  // Bullets.
  const bullets = game.bullets;
  for (let i = 0; i < bullets.length; ) {
    const bullet = bullets[i]!;
    const life = bullet.life - dt;
    const nx = bullet.x + bullet.vx * dt;
    const ny = bullet.y + bullet.vy * dt;
    if (life <= 0 || nx < 0 || nx >= WORLD_SIZE || ny < 0 || ny >= WORLD_SIZE || level.blocked(nx, ny)) {
      swapRemove(bullets, i);
      continue;
    }
    bullet.life = life;
    bullet.x = nx;
    bullet.y = ny;
    const home = cellOf(nx, ny);
    const cx = home % GRID_COLS;
    const cy = (home - cx) / GRID_COLS;
    let best = -1;
    let bestD2 = Infinity;
    for (let dy = -1; dy <= 1; dy++) {
      const row = cy + dy;
      if (row < 0 || row >= GRID_COLS) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const col = cx + dx;
        if (col < 0 || col >= GRID_COLS) continue;
        const list = grid.get(row * GRID_COLS + col);
        if (list === undefined) continue;
        for (const j of list) {
          const u = units[j]!;
          if (u.team === bullet.team) continue;
          const ex = u.x - nx;
          const ey = u.y - ny;
          const d2 = ex * ex + ey * ey;
          const rr = u.radius + BULLET_RADIUS;
          if (d2 < rr * rr && d2 < bestD2) {
            best = j;
            bestD2 = d2;
          }
        }
      }
    }
    if (best >= 0) {
      game.events.push({ type: EVENT_HIT, a: units[best]!, b: bullet.owner, x: nx, y: ny, value: bullet.damage });
      swapRemove(bullets, i);
      continue;
    }
    i++;
  }
}
