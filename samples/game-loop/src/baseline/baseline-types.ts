/*
 * The plain objects of the baseline game (baseline-game.ts): units, bullets,
 * particles, events, voices and draw items as JS objects.
 */

export interface Unit {
  alive: boolean;
  x: number;
  y: number;
  vx: number;
  vy: number;
  tvx: number;
  tvy: number;
  radius: number;
  team: number;
  kind: number;
  health: number;
  cooldown: number;
  kills: number;
  inventory: number[];
  think: number;
  target: Unit | null;
  path: { x: number; y: number }[];
  pathPos: number;
}

export interface Bullet {
  x: number;
  y: number;
  vx: number;
  vy: number;
  life: number;
  owner: Unit;
  team: number;
  damage: number;
}

export interface Particle {
  x: number;
  y: number;
  vx: number;
  vy: number;
  life: number;
  color: number;
}

export interface GameEvent {
  type: number;
  a: Unit;
  b: Unit | null;
  x: number;
  y: number;
  value: number;
}

export interface Voice {
  sound: number;
  gain: number;
  pos: number;
}

export interface DrawItem {
  key: number;
  payload: number;
}

export const INVENTORY_MIN = 24;
export const INVENTORY_MAX = 1536;
export const ITEM_TILE = 0 << 24;
export const ITEM_UNIT = 1 << 24;
export const ITEM_BULLET = 2 << 24;
export const ITEM_PARTICLE = 3 << 24;
export const UNLOAD_STEP_LAST = 3;

/** Removes `list[i]` by moving the last element into its place (the arrays' swapRemove). */
export function swapRemove<T>(list: T[], i: number): void {
  const last = list.pop()!;
  if (i < list.length) list[i] = last;
}
