import {
  ASSET_COUNT,
  BURST_TURN,
  CELLS,
  DEBRIS_PER_DEATH,
  EVENT_DEATH,
  EVENT_HIT,
  FRACTION,
  FRACTION_MAX,
  LAYER_BULLETS,
  LAYER_PARTICLES,
  LAYER_TILES,
  LAYER_UNITS,
  SPARKS_PER_HIT,
  assetId,
  cellCenterY,
  drawKey,
  drawMaterial,
  mix32,
} from "../game/config.js";
import type { BaselineGame } from "./baseline-game.js";
import { ITEM_BULLET, ITEM_PARTICLE, ITEM_TILE, ITEM_UNIT, swapRemove, type DrawItem } from "./baseline-types.js";

/** The baseline game's render step: effects, a draw list of small objects sorted with a comparator (baseline-game.ts). */
export function stepRender(game: BaselineGame, dt: number): void {
  const rng = game.rng;
  for (const e of game.events) {
    const count = e.type === EVENT_HIT ? SPARKS_PER_HIT : e.type === EVENT_DEATH ? DEBRIS_PER_DEATH : 0;
    const color = e.type === EVENT_HIT ? 0 : 1;
    if (count === 0) continue;
    const draw = rng.int(0, FRACTION_MAX);
    for (let k = 0; k < count; k++) {
      const angle = (draw * FRACTION + k * BURST_TURN) * 2 * Math.PI;
      const speed = 40 + 10 * ((draw + 5 * k) % 13);
      const life = 0.3 + 0.025 * ((draw + 7 * k) % 13);
      game.particles.push({ x: e.x, y: e.y, vx: Math.cos(angle) * speed, vy: Math.sin(angle) * speed, life, color: color + k * 2 });
    }
  }
  const particles = game.particles;
  for (let i = 0; i < particles.length; ) {
    const p = particles[i]!;
    const life = p.life - dt;
    if (life <= 0) {
      swapRemove(particles, i);
      continue;
    }
    p.life = life;
    p.vx = p.vx * 0.96;
    p.vy = p.vy * 0.96;
    p.x = p.x + p.vx * dt;
    p.y = p.y + p.vy * dt;
    i++;
  }
  const tiles = game.level.tiles;
  if (game.wallCount < 0) game.wallCount = tiles.filter((t) => t !== 0).length;
  const list: DrawItem[] = [];
  for (let c = 0; c < CELLS; c++) {
    if (tiles[c] !== 0) list.push({ key: drawKey(LAYER_TILES, cellCenterY(c) * 16, 1), payload: ITEM_TILE | c });
  }
  game.units.forEach((u, i) => list.push({ key: drawKey(LAYER_UNITS, (u.y * 16) | 0, 16 + u.kind * 2 + u.team), payload: ITEM_UNIT | i }));
  game.bullets.forEach((b, i) => list.push({ key: drawKey(LAYER_BULLETS, (b.y * 16) | 0, 32 + b.team), payload: ITEM_BULLET | i }));
  particles.forEach((p, i) => list.push({ key: drawKey(LAYER_PARTICLES, (p.y * 16) | 0, 40 + p.color), payload: ITEM_PARTICLE | i }));
  list.sort((a, b) => a.key - b.key);
  let hash = game.drawHash;
  let material = -1;
  let batches = 0;
  for (const item of list) {
    const m = drawMaterial(item.key);
    if (m !== material) {
      material = m;
      batches++;
      hash = mix32(hash, game.level.textureWord(assetId(m % ASSET_COUNT)));
    }
    hash = mix32(hash, item.key);
    hash = mix32(hash, item.payload);
  }
  game.drawHash = hash;
  game.drawItems += list.length;
  game.drawBatches += batches;
}
