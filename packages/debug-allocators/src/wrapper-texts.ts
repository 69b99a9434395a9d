import type { CapturedStack } from "@memkit/core";
import { stackOf } from "./messages.js";
import { W_NEXT_TEXT } from "./wrapper-layout.js";

/*
 * What a debug wrapper cannot keep in linear memory: the text of a call
 * stack (a free's stack in the free history) and the origin of a
 * quarantined block (its scope path and allocation stack). Memory holds a
 * small id instead, issued by the wrapper's counter (W_NEXT_TEXT), so an id
 * names one text in every thread; the text stays in the JS of the thread
 * that captured it, shared by every handle this thread holds on the wrapper.
 * Another thread, or a restored save, prints such an id as
 * {@link TEXT_NOT_HERE}. Id 0 means "none".
 */

/** What an id with no text in this thread prints as (captured by another thread, or before a restore). */
export const TEXT_NOT_HERE = "(not captured in this thread)";

/**
 * Texts known beyond this many are dropped (and print as not captured):
 * a bound for engines without V8's stack API, where every captured stack
 * is a new object. With it, a call path keeps one object and one id.
 */
const MAX_TEXTS = 1 << 16;

/** One thread's texts of one wrapper. */
export class WrapperTexts {
  readonly #byId = new Map<number, CapturedStack | string>();
  readonly #stackIds = new Map<CapturedStack, number>();
  readonly #textIds = new Map<string, number>();

  /** The id of a captured stack (a new one from the wrapper's counter the first time it is seen). */
  stackId(site: CapturedStack, u32: Uint32Array, w: number): number {
    const known = this.#stackIds.get(site);
    if (known !== undefined) return known;
    const id = this.#issue(site, u32, w);
    this.#stackIds.set(site, id);
    return id;
  }

  /** The id of a text (a scope path, an allocation stack); 0 for undefined. */
  textId(text: string | undefined, u32: Uint32Array, w: number): number {
    if (text === undefined) return 0;
    const known = this.#textIds.get(text);
    if (known !== undefined) return known;
    const id = this.#issue(text, u32, w);
    this.#textIds.set(text, id);
    return id;
  }

  /** The stack or text of `id` (a stack's frames joined by newlines), {@link TEXT_NOT_HERE} when this thread never saw it, undefined for 0. */
  text(id: number): string | undefined {
    if (id === 0) return undefined;
    const found = this.#byId.get(id);
    if (found === undefined) return TEXT_NOT_HERE;
    return typeof found === "string" ? found : stackOf(found);
  }

  #issue(value: CapturedStack | string, u32: Uint32Array, w: number): number {
    if (this.#byId.size >= MAX_TEXTS) {
      this.#byId.clear();
      this.#stackIds.clear();
      this.#textIds.clear();
    }
    // Never 0, even after the counter wraps.
    let id = (u32[w + W_NEXT_TEXT]! + 1) >>> 0;
    if (id === 0) id = 1;
    u32[w + W_NEXT_TEXT] = id;
    this.#byId.set(id, value);
    return id;
  }
}

const threadTexts = new WeakMap<object, Map<string, WrapperTexts>>();

/** This thread's texts of the wrapper `id` whose control block is at `controlPtr` of `space`. */
export function wrapperTextsOf(space: object, controlPtr: number, id: number): WrapperTexts {
  let bySpace = threadTexts.get(space);
  if (bySpace === undefined) {
    bySpace = new Map();
    threadTexts.set(space, bySpace);
  }
  const key = `${controlPtr}:${id}`;
  let texts = bySpace.get(key);
  if (texts === undefined) {
    texts = new WrapperTexts();
    bySpace.set(key, texts);
  }
  return texts;
}

/** Forgets the texts of a destroyed wrapper. */
export function dropWrapperTexts(space: object, controlPtr: number, id: number): void {
  threadTexts.get(space)?.delete(`${controlPtr}:${id}`);
}
