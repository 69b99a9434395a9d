import {
  Attachment,
  CorruptionError,
  DoubleFreeError,
  InvalidArgumentError,
  describe,
  formatBytes,
  hex,
  invalidPointer,
  retireControl,
  validateAllocation,
  validatePointerShape,
  type AddressSpace,
  type Allocator,
  type AllocatorStats,
  type Checkable,
  type Ptr,
  type StorageReport,
  type StorageReporting,
  type ThreadSeat,
} from "@memkit/core";
import {
  COUNT_MASK,
  FREED,
  FREE_HEAD,
  MAX_OWNERS,
  PAGE_LAYOUT,
  USED,
  USED_HEAD,
  W_ALLOC_COUNT,
  W_FREE_COUNT,
  W_LIVE_PAGES,
  W_LIVE_SPANS,
  W_LOCK,
  W_OWNER_COUNT,
  W_PEAK_LIVE_PAGES,
  W_TOP_PAGE,
  controlBytesFor,
} from "./layout.js";
import { checkPageMap } from "./check.js";
import { createPageControl, openPageControl } from "./control.js";
import { appendOwnerName, readOwnerName } from "./owner-names.js";
import { PageSections } from "./sections.js";
import { spanStorageReport } from "./storage-report.js";
import type { PageReclaimer, ReclaimRegistry } from "./reclaimers.js";

/** Options for {@link PageAllocator}. */
export interface PageAllocatorOptions {
  /** Bytes per page: a power of two from 256 to 65536. @defaultValue 65536 (one wasm page) */
  pageSize?: number;
  /** Name used in messages and reports. @defaultValue "pages" */
  name?: string;
  /**
   * Where the control block lives (8-aligned, {@link PageAllocator.controlBytes} bytes,
   * reserved by the caller, e.g. carved from the bootstrap heap). When omitted the
   * allocator places it right after page 0 and never hands those pages out.
   */
  controlPtr?: Ptr;
  /** First byte the allocator may hand out (rounded up to a page). @defaultValue the first page after the control block */
  firstByte?: number;
  /**
   * The calling thread's seat in the memory's thread table, on a shared
   * space: the lock names it as holder, so when this thread dies holding it
   * (and is declared dead) the next thread undoes its half-done operation.
   * Without a seat the holder is anonymous and a thread that dies holding
   * the lock blocks every other thread. Ignored on a private space.
   */
  thread?: ThreadSeat;
}

/** Options for {@link PageAllocator.attach}. */
export interface PageAttachOptions {
  /** Name this handle uses in messages and reports. @defaultValue "pages" */
  name?: string;
  /** The calling thread's seat (see {@link PageAllocatorOptions.thread}). */
  thread?: ThreadSeat;
}

/** Visitor for {@link PageAllocator.forEachSpan}. */
export type SpanVisitor = (ptr: Ptr, bytes: number, used: boolean, tag: number) => void;

/**
 * Page spans from the address space: the "OS" layer every other allocator
 * leases from. Sizes round up to whole pages; spans are page-aligned.
 *
 * All state — counters, free-span bins, the page map, owner names — lives in
 * linear memory in the control block (see layout.ts); this object is a
 * handle, and {@link PageAllocator.attach} makes another one on the same
 * control block (another thread, a restored save).
 *
 * Cost: finding a span is O(1) (two bit scans over TLSF-style bins of page
 * counts); coalescing on free is O(1) through boundary words; allocate,
 * free and {@link setTag} also write one map word per page of the span
 * (interior words cleared, tags set), which is O(pages) but only touches the
 * map, never the pages themselves.
 */
export class PageAllocator extends PageSections implements Allocator, Checkable, StorageReporting, ReclaimRegistry {
  readonly name: string;
  /** Names read from the owner table; entries never change once written. */
  #ownerNames: (string | undefined)[] = [];

  /**
   * A new page allocator over `space` — or, given an {@link Attachment} (see
   * {@link PageAllocator.attach}), a second handle on the one whose control
   * block that is. Throws InvalidArgumentError for bad options.
   */
  constructor(source: AddressSpace | Attachment, options: PageAllocatorOptions = {}) {
    const attaching = source instanceof Attachment;
    const space = attaching ? source.space : source;
    super(space, attaching ? openPageControl(source, options.name, options.thread) : createPageControl(space, options));
    this.name = options.name ?? "pages";
    this.followViews();
  }

  /** Bytes of control block a page allocator needs for this maximum size and page size. */
  static controlBytes(maximumBytes: number, pageSize = 65536): number {
    return controlBytesFor(Math.floor(maximumBytes / pageSize));
  }

  /**
   * A second handle on the page allocator whose control block is at
   * `controlPtr` in `space` (another thread, after receiving the memory, or
   * a restored save). Owner names come from the control block; reclaimers
   * are JS callbacks and belong to the handle they were added to. A wrong
   * pointer, another layout or a damaged block is a CorruptionError (a
   * non-number is an InvalidArgumentError); damage to the page map that
   * attach does not walk is found by {@link check}. Handles must not run
   * calls concurrently: sharing across threads needs a lock around them.
   */
  static attach(space: AddressSpace, controlPtr: Ptr, options: PageAttachOptions = {}): PageAllocator {
    return new PageAllocator(Attachment.open(space, controlPtr, PAGE_LAYOUT, "PageAllocator.attach"), options);
  }

  /** Ends this handle only: the allocator, its spans and other handles live on. Idempotent. */
  detach(): void {
    this.end("detached");
  }

  /**
   * Ends the page allocator: its control block is retired (attaching to it is
   * refused) and every handle this thread holds on it is dead. Spans still
   * live die with it. Idempotent.
   */
  destroy(): void {
    if (!this.alive) return;
    retireControl(this.space, this.controlPtr);
    this.end("destroyed");
  }

  // ---------------------------------------------------------------- Allocator

  /** A span of whole pages (size 0 takes one page), aligned to max(align, pageSize). */
  allocate(size: number, align = 8): Ptr {
    validateAllocation(this.name, size, align);
    const count = this.pagesFor(size);
    const lock = this.lock;
    let head: number;
    if (lock === null) {
      head = this.take(count, align, size, false);
    } else {
      this.enter(lock, "allocate");
      try {
        this.follow();
        head = this.take(count, align, size, false);
      } catch (err) {
        lock.rollback();
        throw err;
      } finally {
        lock.release();
      }
    }
    if (head === 0) head = this.takeAfterReclaim(count, align, size);
    return head << this.pageShift;
  }

  /** Returns the span at `ptr`; merges it with free neighbours. */
  deallocate(ptr: Ptr): void {
    if (ptr === 0) return;
    const lock = this.lock;
    if (lock === null) {
      this.freeSpan(this.liveHead(ptr, "deallocate"));
      return;
    }
    this.enter(lock, "deallocate");
    try {
      this.follow();
      this.freeSpan(this.liveHead(ptr, "deallocate"));
    } catch (err) {
      lock.rollback();
      throw err;
    } finally {
      lock.release();
    }
  }

  /** Shrinks in place, grows in place into a free right neighbour, else moves. */
  reallocate(ptr: Ptr, newSize: number, align = 8): Ptr {
    validateAllocation(this.name, newSize, align);
    if (ptr === 0) return this.allocate(newSize, align);
    let moved = this.reallocateLocked(ptr, newSize, align, false);
    if (moved === 0) {
      this.runReclaimers(); // outside the lock: a lessee gives pages back through this allocator
      moved = this.reallocateLocked(ptr, newSize, align, true);
    }
    return moved;
  }

  private reallocateLocked(ptr: Ptr, newSize: number, align: number, last: boolean): Ptr {
    const lock = this.lock;
    if (lock === null) return this.resize(ptr, newSize, align, last);
    this.enter(lock, "reallocate");
    try {
      this.follow();
      return this.resize(ptr, newSize, align, last);
    } catch (err) {
      lock.rollback();
      throw err;
    } finally {
      lock.release();
    }
  }

  /** reallocate's work; 0 when a move found no room and `last` is not set (nothing changed then). */
  private resize(ptr: Ptr, newSize: number, align: number, last: boolean): Ptr {
    const head = this.liveHead(ptr, "reallocate");
    const u32 = this.u32;
    const st = this.store;
    const sb = this.stateBase;
    const count = u32[sb + head]! & COUNT_MASK;
    const want = this.pagesFor(newSize);
    if (ptr % align === 0) {
      if (want === count) return ptr;
      if (want < count) {
        this.clearTags(head + want, count - want);
        this.writeSpan(head, want, USED);
        this.release(head + want, count - want);
        st.put(u32, sb + head + want, u32[sb + head + want]! & ~FREED); // never a block start: a later free of it is an invalid pointer
        st.put(u32, this.cw + W_LIVE_PAGES, u32[this.cw + W_LIVE_PAGES]! - (count - want));
        return ptr;
      }
      const right = head + count;
      const rs = right < u32[this.cw + W_TOP_PAGE]! ? u32[sb + right]! : 0;
      if ((rs & FREE_HEAD) === FREE_HEAD && (rs & COUNT_MASK) >= want - count) {
        const rc = rs & COUNT_MASK;
        this.unlinkFree(right, rc);
        // [head + count - 1, right + rc) becomes interior: the old tail and the free span's boundary words, logged; its interior marks, cleared.
        if (count > 1) st.put(u32, sb + head + count - 1, 0);
        st.put(u32, sb + right, 0);
        if (rc > 1) st.put(u32, sb + right + rc - 1, 0);
        for (let i = right + 1; i < right + rc - 1; i++) this.clearMark(sb + i);
        this.writeSpan(head, want, USED);
        if (rc > want - count) this.insertFree(head + want, rc - (want - count));
        this.fillTags(right, want - count, u32[this.tagWordBase + head]!);
        this.addLivePages(want - count);
        return ptr;
      }
    }
    const tag = u32[this.tagWordBase + head]!;
    const moved = this.take(want, align, newSize, last); // may grow the memory: re-read views below
    if (moved === 0) return 0;
    this.space.bytes.copy(moved << this.pageShift, ptr, Math.min(count, want) * this.pageSize);
    this.fillTags(moved, want, tag);
    this.freeSpan(head);
    // take may have grown the memory: the counters go through the fresh view.
    const fresh = this.u32;
    st.put(fresh, this.cw + W_ALLOC_COUNT, fresh[this.cw + W_ALLOC_COUNT]! - 1);
    st.put(fresh, this.cw + W_FREE_COUNT, fresh[this.cw + W_FREE_COUNT]! - 1);
    return moved << this.pageShift;
  }

  /** Bytes in the live span at `ptr`. */
  allocatedSize(ptr: Ptr): number {
    const head = this.liveHead(ptr, "allocatedSize");
    return (this.u32[this.stateBase + head]! & COUNT_MASK) * this.pageSize;
  }

  /** True when `ptr` is the start of a live span (false on an ended handle: its views are empty). */
  owns(ptr: Ptr): boolean {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || (ptr & (this.pageSize - 1)) !== 0) return false;
    const page = ptr >>> this.pageShift;
    if (page < this.firstPage || !(page < this.u32[this.cw + W_TOP_PAGE]!)) return false;
    return (this.u32[this.stateBase + page]! & USED_HEAD) === USED_HEAD;
  }

  /** liveBytes counts whole pages (usable sizes); reservedBytes the pages carved from the space so far. */
  stats(): AllocatorStats {
    return this.locked("stats", () => this.readStats());
  }

  private readStats(): AllocatorStats {
    const u32 = this.u32;
    const cw = this.cw;
    return {
      liveBytes: u32[cw + W_LIVE_PAGES]! * this.pageSize,
      liveCount: u32[cw + W_LIVE_SPANS]!,
      peakLiveBytes: u32[cw + W_PEAK_LIVE_PAGES]! * this.pageSize,
      allocCount: u32[cw + W_ALLOC_COUNT]!,
      freeCount: u32[cw + W_FREE_COUNT]!,
      reservedBytes: (u32[cw + W_TOP_PAGE]! - this.firstPage) * this.pageSize,
    };
  }

  /** Starts a new high-water mark at the current live size. */
  resetPeak(): void {
    this.locked("resetPeak", () => this.store.put(this.u32, this.cw + W_PEAK_LIVE_PAGES, this.u32[this.cw + W_LIVE_PAGES]!));
  }

  // ---------------------------------------------------------------- reclaim

  /**
   * Registers a lessee's hook that gives back the pages it only caches (empty
   * spans, slabs, spare chunks). Before an allocation through this handle
   * throws OutOfMemoryError, the page allocator calls every hook once and
   * retries; only that failing path pays for it. Returns a function that
   * unregisters the hook. The heap, slot and temp allocators register
   * themselves. Hooks are JS functions, so they belong to this handle: a
   * handle attached elsewhere asks the lessees registered with it. Hooks run
   * outside the allocator's lock, so they may free (or allocate) through it.
   */
  addReclaimer(reclaim: PageReclaimer): () => void {
    this.assertAlive("addReclaimer");
    return this.reclaimers.addReclaimer(reclaim);
  }

  /**
   * Asks every lessee registered with this handle to give back its cached
   * pages now (say, after unloading a level); returns the bytes given back.
   * Allocations do this on their own before they fail.
   */
  reclaim(): number {
    this.assertAlive("reclaim");
    return Math.max(0, this.reclaimers.run());
  }

  // ------------------------------------------------------------ page map API

  /**
   * Registers an allocator that leases spans; returns its owner id (1..255)
   * for {@link setTag}. The name goes into the control block's owner table,
   * so every handle reports it (up to 255 bytes of UTF-8; when the 2 KiB
   * table is nearly full a name is cut short, or reads as `owner#id`).
   */
  registerOwner(name: string): number {
    this.assertAlive("registerOwner");
    if (typeof name !== "string") throw new InvalidArgumentError(`${this.name}.registerOwner: the name must be a string, received ${describe(name)}.`);
    return this.locked("registerOwner", () => {
      const u32 = this.u32;
      const st = this.store;
      const id = u32[this.cw + W_OWNER_COUNT]! + 1;
      if (id > MAX_OWNERS) throw new InvalidArgumentError(`${this.name}.registerOwner(${JSON.stringify(name)}): all ${MAX_OWNERS} owner ids are taken.`);
      appendOwnerName(u32, this.cw, id, name, (index, value) => st.put(u32, index, value));
      st.put(u32, this.cw + W_OWNER_COUNT, id);
      return id;
    });
  }

  /** The name an owner id was registered with, from the control block (`owner#id` when it has none). */
  ownerName(owner: number): string {
    this.assertAlive("ownerName");
    let name = this.#ownerNames[owner];
    if (name === undefined) {
      name = this.locked("ownerName", () => readOwnerName(this.u8, this.u32, this.cw, owner));
      if (name !== undefined) this.#ownerNames[owner] = name;
    }
    return name ?? `owner#${owner}`;
  }

  /** Tags every page of the live span at `spanPtr` with `owner << 24 | data`. */
  setTag(spanPtr: Ptr, owner: number, data = 0): void {
    if (this.lock === null) {
      this.tagSpan(spanPtr, owner, data);
      return;
    }
    this.locked("setTag", () => this.tagSpan(spanPtr, owner, data));
  }

  private tagSpan(spanPtr: Ptr, owner: number, data: number): void {
    const head = this.liveHead(spanPtr, "setTag");
    if (typeof owner !== "number" || typeof data !== "number" || owner >>> 0 !== owner || owner > 255 || data >>> 0 !== data || data > 0xff_ffff) {
      throw new InvalidArgumentError(`${this.name}.setTag: owner must be 0..255 and data 0..16777215, received ${describe(owner)} and ${describe(data)}.`);
    }
    this.fillTags(head, this.u32[this.stateBase + head]! & COUNT_MASK, ((owner << 24) | data) >>> 0);
  }

  /** Tag of the page holding `addr`: `owner << 24 | data`, or 0 when free, reserved, outside or untagged. O(1). */
  tagOf(addr: Ptr): number {
    if (typeof addr !== "number" || addr >>> 0 !== addr) return 0;
    const page = addr >>> this.pageShift;
    if (page >= this.maxPages) return 0;
    const tag = this.u32[this.tagWordBase + page];
    if (tag === undefined) throw this.endedError("tagOf"); // the views are empty only once the handle ended
    return tag;
  }

  /** Walks every carved span in address order (reports and memory maps). */
  forEachSpan(visit: SpanVisitor): void {
    this.locked("forEachSpan", () => this.walkSpans(visit));
  }

  private walkSpans(visit: SpanVisitor): void {
    const u32 = this.u32;
    const top = u32[this.cw + W_TOP_PAGE]!;
    for (let page = this.firstPage; page < top; ) {
      const s = u32[this.stateBase + page]!;
      const count = s & COUNT_MASK;
      if (count === 0 || page + count > top) throw this.corrupt(page, "no span boundary where a span should start");
      const used = (s & USED) !== 0;
      visit(page << this.pageShift, count * this.pageSize, used, used ? u32[this.tagWordBase + page]! : 0);
      page += count;
    }
  }

  /** First address this allocator can hand out, and the end of what it has carved so far. */
  get range(): { start: Ptr; end: Ptr; limit: Ptr } {
    this.assertAlive("range");
    return {
      start: this.firstPage << this.pageShift,
      end: this.u32[this.cw + W_TOP_PAGE]! << this.pageShift,
      limit: this.maxPages * this.pageSize,
    };
  }

  // --------------------------------------------------------------- checking

  /**
   * Verifies boundary words, coalescing, tags, bins, bitmaps, counters and
   * the owner names; throws CorruptionError at the first fault. O(maxPages).
   */
  check(): void {
    this.locked("check", () => this.checkMap());
  }

  private checkMap(): void {
    const lw = this.cw + W_LOCK;
    const holder = this.lock === null ? 0 : this.lock.holderId;
    if ((this.u32[lw]! | 0) !== holder || this.u32[lw + 1] !== 0) {
      throw this.corrupt(0, `its lock is not at rest (holder ${hex(this.u32[lw]!)}, ${this.u32[lw + 1]} log entries${this.lock === null ? " on a private space" : ""})`);
    }
    checkPageMap(this.u8, this.u32, {
      cw: this.cw,
      firstPage: this.firstPage,
      maxPages: this.maxPages,
      stateBase: this.stateBase,
      tagWordBase: this.tagWordBase,
      prevBase: this.prevBase,
      nextBase: this.nextBase,
      corrupt: (page, what) => this.corrupt(page, what),
    });
  }

  /** Free pages in carved memory; the untouched pages above can still be grown into and are not counted. */
  storageReport(): StorageReport {
    return spanStorageReport(this);
  }

  // -------------------------------------------------------------- internals

  /** The head page of the live span at `ptr`, or throws InvalidPointerError / DoubleFreeError (DestroyedError once ended). */
  private liveHead(ptr: Ptr, op: string): number {
    // The good path builds no strings: messages are made only when something is wrong.
    if (typeof ptr === "number" && ptr >>> 0 === ptr && (ptr & (this.pageSize - 1)) === 0) {
      const page = ptr >>> this.pageShift;
      if (page >= this.firstPage && page < this.u32[this.cw + W_TOP_PAGE]! && (this.u32[this.stateBase + page]! & USED_HEAD) === USED_HEAD) return page;
    }
    return this.rejectPointer(ptr, op);
  }

  /** Throws the error that explains why `ptr` is not a live span head. */
  private rejectPointer(ptr: Ptr, op: string): never {
    const who = `${this.name}.${op}`;
    validatePointerShape(who, ptr);
    this.assertAlive(op);
    if ((ptr & (this.pageSize - 1)) !== 0) throw invalidPointer(who, ptr, `not at the start of a ${formatBytes(this.pageSize)} page`);
    const page = ptr >>> this.pageShift;
    const top = this.u32[this.cw + W_TOP_PAGE]!;
    if (page < this.firstPage || page >= top) {
      throw invalidPointer(who, ptr, `outside the pages it hands out, ${hex(this.firstPage << this.pageShift)}..${hex(top << this.pageShift)}`);
    }
    const s = this.u32[this.stateBase + page]!;
    if ((s & FREE_HEAD) === FREE_HEAD || (s & FREED) !== 0) {
      throw new DoubleFreeError(`${who}: the span at ${hex(ptr)} was already freed.`);
    }
    throw invalidPointer(who, ptr, "inside a span, not at its start");
  }

  private corrupt(page: number, what: string): CorruptionError {
    return new CorruptionError(`${this.name}: page map corrupt at page ${page} (${hex(page << this.pageShift)}): ${what}.`);
  }
}
