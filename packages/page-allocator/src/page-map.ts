import { SpaceHandle, type AddressSpace, type Ptr, type SharedLock, type ViewSet } from "@memkit/core";
import { FREE, FREED, HEAD, W_PAGE_ARRAYS } from "./layout.js";

/**
 * How a page allocator writes its map and control words: plainly on a
 * private space, through the lock's undo log on a shared one. One object per
 * handle, chosen once: a process that only has private page allocators sees
 * one kind of store at every write, which V8 inlines to a plain store.
 */
export interface WordStore {
  put(u32: Uint32Array, index: number, value: number): void;
  /** Clears a word whose old and new values are both valid (see clearMark): not logged. */
  clear(u32: Uint32Array, index: number): void;
}

/** The store of a private space. */
const PLAIN_STORE: WordStore = {
  put(u32: Uint32Array, index: number, value: number): void {
    u32[index] = value;
  },
  clear(u32: Uint32Array, index: number): void {
    u32[index] = 0;
  },
};

/** The store of a shared space: every word logged under the lock first. */
class LoggedStore implements WordStore {
  constructor(private readonly lock: SharedLock) {}
  put(u32: Uint32Array, index: number, value: number): void {
    this.lock.write(u32, index, value);
  }
  clear(u32: Uint32Array, index: number): void {
    Atomics.store(u32, index, 0);
  }
}

/** Where a page allocator's control block is and what it covers: the sealed fixed words, read once. */
export interface PageGeometry {
  controlPtr: Ptr;
  pageShift: number;
  firstPage: number;
  maxPages: number;
  /** The allocator's lock, on a shared space (null on a private one: no thread can interleave). */
  lock: SharedLock | null;
}

/**
 * The page map of a page allocator: the handle's cached views and the word
 * indexes of the per-page arrays (state, tag, next, prev; see layout.ts),
 * with the writes every span operation shares: boundary words and tags.
 */
export abstract class PageMap extends SpaceHandle {
  /** Bytes per page. */
  readonly pageSize: number;
  /** log2(pageSize). */
  readonly pageShift: number;
  /**
   * u32 word index of the tag array: `space.u32[tagWordBase + (ptr >>> pageShift)]`
   * is the tag of the page holding `ptr`. For routing on hot paths with a view
   * the caller refreshes itself; everyone else calls `tagOf`.
   */
  readonly tagWordBase: number;

  protected u32!: Uint32Array;
  /** Byte view (owner names, check), refreshed on growth like u32 (`space.u8` re-checks the buffer on every read). */
  protected u8!: Uint8Array;
  /** Word index of the control block. */
  protected readonly cw: number;
  protected readonly stateBase: number;
  protected readonly nextBase: number;
  protected readonly prevBase: number;
  protected readonly firstPage: number;
  protected readonly maxPages: number;
  /**
   * On a shared space, every public operation that touches the map runs
   * holding this lock and writes through {@link put} / {@link fillTags}, so
   * each word is undo-logged first (a thread that dies mid-operation is
   * rolled back by the next). Null on a private space: plain stores.
   */
  protected readonly lock: SharedLock | null;
  /** How this handle writes map and control words (see WordStore). */
  protected readonly store: WordStore;

  protected constructor(space: AddressSpace, geometry: PageGeometry) {
    super(space, geometry.controlPtr);
    const { controlPtr, pageShift, firstPage, maxPages } = geometry;
    this.pageShift = pageShift;
    this.pageSize = 1 << pageShift;
    this.cw = controlPtr >>> 2;
    this.firstPage = firstPage;
    this.maxPages = maxPages;
    this.stateBase = this.cw + W_PAGE_ARRAYS;
    this.tagWordBase = this.stateBase + maxPages;
    this.nextBase = this.tagWordBase + maxPages;
    this.prevBase = this.nextBase + maxPages;
    this.lock = geometry.lock;
    this.store = geometry.lock === null ? PLAIN_STORE : new LoggedStore(geometry.lock);
  }

  refreshViews(views: ViewSet): void {
    this.u32 = views.u32;
    this.u8 = views.u8;
  }

  /** Whole pages for `size` bytes (0 takes one). Integer ops only: a float here would be boxed at every call. */
  protected pagesFor(size: number): number {
    return size === 0 ? 1 : ((size - 1) >>> this.pageShift) + 1;
  }

  /**
   * Clears a word that holds 0 or a FREED mark inside what stays a span's
   * interior. Not logged: both values are valid there, so a rolled-back
   * section that leaves it cleared still leaves a sound map (an old pointer
   * into it then reads as invalid rather than as a double free).
   */
  protected clearMark(index: number): void {
    const u32 = this.u32;
    if (u32[index] !== 0) this.store.clear(u32, index);
  }

  /** Writes a span's boundary words. Free spans keep FREED marks, so a freed block start stays recognisable. */
  protected writeSpan(head: number, count: number, kind: number): void {
    const u32 = this.u32;
    const st = this.store;
    const h = this.stateBase + head;
    const keep = kind === FREE ? FREED : 0;
    st.put(u32, h, (kind | HEAD | count | (u32[h]! & keep)) >>> 0);
    if (count > 1) {
      const t = h + count - 1;
      st.put(u32, t, (kind | count | (u32[t]! & keep)) >>> 0);
    }
  }

  /** Sets the tags of `count` pages from `head` (they all hold one tag before: one range entry in the log). */
  protected fillTags(head: number, count: number, tag: number): void {
    const u32 = this.u32;
    const base = this.tagWordBase + head;
    const lock = this.lock;
    if (lock === null) for (let i = 0; i < count; i++) u32[base + i] = tag;
    else lock.fill(u32, base, count, tag);
  }

  protected clearTags(head: number, count: number): void {
    if (this.u32[this.tagWordBase + head] !== 0) this.fillTags(head, count, 0);
  }
}
