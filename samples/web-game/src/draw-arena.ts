import type { StructField } from "@memkit/containers";
import { CELL_SIZE, GRID_COLS, WORLD_SIZE, type MemkitGame } from "@memkit/game-loop/browser";
import { TEAM_COLORS } from "./palette.js";

const BACKGROUND = "#101418";
const WALL = "#3a4450";
const BULLET = "#fff59d";
const PARTICLE = "#ffcc80";

/**
 * Draws the game's arena from its memory, as the game left it after a frame:
 * walls from the level's tiles, units from the physics bodies (coloured by
 * team), bullets and particles. It reads the same StructArray fields the
 * subsystems write, and allocates nothing per frame.
 */
export class ArenaView {
  readonly #ctx: CanvasRenderingContext2D;
  readonly #scale: number;
  readonly #game: MemkitGame;
  readonly #bulletX: StructField<"f64">;
  readonly #bulletY: StructField<"f64">;
  readonly #particleX: StructField<"f64">;
  readonly #particleY: StructField<"f64">;

  constructor(canvas: HTMLCanvasElement, game: MemkitGame) {
    const ctx = canvas.getContext("2d");
    if (ctx === null) throw new Error("ArenaView: the canvas has no 2D context");
    this.#ctx = ctx;
    this.#scale = canvas.width / WORLD_SIZE;
    this.#game = game;
    this.#bulletX = game.physics.bullets.field("x");
    this.#bulletY = game.physics.bullets.field("y");
    this.#particleX = game.render.particles.field("x");
    this.#particleY = game.render.particles.field("y");
  }

  draw(): void {
    const ctx = this.#ctx;
    const s = this.#scale;
    const size = WORLD_SIZE * s;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, size, size);
    const { level, physics, render } = this.#game;
    // Tiles exist once the load stage has built the terrain.
    if (level.tiles.length === GRID_COLS * GRID_COLS) {
      ctx.fillStyle = WALL;
      const cell = CELL_SIZE * s;
      for (let c = 0; c < level.tiles.length; c++) {
        if (level.tiles.get(c) !== 0) ctx.fillRect((c % GRID_COLS) * cell, Math.floor(c / GRID_COLS) * cell, cell, cell);
      }
    }
    for (let team = 0; team < TEAM_COLORS.length; team++) {
      ctx.fillStyle = TEAM_COLORS[team]!;
      for (let i = 0; i < physics.bodies.length; i++) {
        if (physics.team.get(i) !== team) continue;
        const r = Math.max(1.5, physics.radius.get(i) * s);
        ctx.fillRect(physics.x.get(i) * s - r, physics.y.get(i) * s - r, 2 * r, 2 * r);
      }
    }
    ctx.fillStyle = PARTICLE;
    for (let i = 0; i < render.particles.length; i++) ctx.fillRect(this.#particleX.get(i) * s - 0.5, this.#particleY.get(i) * s - 0.5, 1, 1);
    ctx.fillStyle = BULLET;
    for (let i = 0; i < physics.bullets.length; i++) ctx.fillRect(this.#bulletX.get(i) * s - 1, this.#bulletY.get(i) * s - 1, 2, 2);
  }
}
