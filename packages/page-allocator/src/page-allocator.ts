import type {
  AddressSpace} from "@memkit/core";
import {
  CorruptionError,
  type DestroyedError,
  DoubleFreeError,
  InvalidArgumentError,
  OutOfMemoryError,
  checkControlHeader,
  describe,
  destroyedError,
  formatBytes,
  formatSize,
  hex,
  invalidPointer,
  magic,
  validateAllocation,
  validatePointerShape,
  writeControlHeader,
  type Allocator,
  type AllocatorStats,
  type Checkable,
  type Ptr,
  type StorageReport,
  type StorageReporting,
} from "@memkit/core";
import {
  COUNT_MASK,
  FREE,
  FREED,
  FREE_HEAD,
  HEAD,
  HEADER_WORDS,
  LAYOUT_VERSION,
  MAGIC_TEXT,
  SL_COUNT,
  USED,
  USED_HEAD,
  W_ALLOC_COUNT,
  W_FIRST_PAGE,
  W_FL_BITMAP,
  W_FREE_COUNT,
  W_FREE_PAGES,
  W_HEADS,
  W_LIVE_PAGES,
  W_LIVE_SPANS,
  W_MAX_PAGES,
  W_OWNER_COUNT,
  W_PAGE_SHIFT,
  W_PEAK_LIVE_PAGES,
  W_SL_BITMAPS,
  W_TOP_PAGE,
  binFl,
  binSl,
  controlBytesFor,
  ffs,
  roundUpToBin,
} from "./layout.js";
import { checkPageMap } from "./check.js";
import { spanStorageReport } from "./storage-report.js";
import { Reclaimers, type PageReclaimer, type ReclaimRegistry } from "./reclaimers.js";

const PAGE_MAGIC = magic(MAGIC_TEXT);

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
}

/** Visitor for {@link PageAllocator.forEachSpan}. */
export type SpanVisitor = (ptr: Ptr, bytes: number, used: boolean, tag: number) => void;

/**
 * Page spans from the address space: the "OS" layer every other allocator
 * leases from. Sizes round up to whole pages; spans are page-aligned.
 *
 * All state — counters, free-span bins, the page map — lives in linear memory
 * in the control block (see layout.ts), so another thread holding the memory
 * and the control pointer could {@link PageAllocator.attach} to it.
 *
 * Cost: finding a span is O(1) (two bit scans over TLSF-style bins of page
 * counts); coalescing on free is O(1) through boundary words; allocate,
 * free and {@link setTag} also write one map word per page of the span
 * (interior words cleared, tags set), which is O(pages) but only touches the
 * map, never the pages themselves.
 */
export class PageAllocator implements Allocator, Checkable, StorageReporting, ReclaimRegistry {
  readonly name: string;
  readonly space: AddressSpace;
  /** Bytes per page. */
  readonly pageSize: number;
  /** log2(pageSize). */
  readonly pageShift: number;
  /** Address of the control block. */
  readonly controlPtr: Ptr;
  /**
   * u32 word index of the tag array: `space.u32[tagWordBase + (ptr >>> pageShift)]`
   * is the tag of the page holding `ptr`. For routing on hot paths with a view
   * the caller refreshes itself; everyone else calls {@link tagOf}.
   */
  readonly tagWordBase: number;

  private u32: Uint32Array;
  /** Byte view for moves, refreshed on growth like u32 (`space.u8` re-checks the buffer on every read). */
  private u8: Uint8Array;
  private readonly cw: number;
  private readonly stateBase: number;
  private readonly nextBase: number;
  private readonly prevBase: number;
  private readonly firstPage: number;
  private readonly maxPages: number;
  private readonly ownerNames: (string | undefined)[] = [];
  private readonly unsubscribe: () => void;
  /** Set by destroy(): every later operation throws DestroyedError. */
  private destroyed = false;
  /** Lessees asked to give back cached pages before an allocation fails. */
  private readonly reclaimers = new Reclaimers();

  constructor(space: AddressSpace, options: PageAllocatorOptions = {}) {
    const pageSize = options.pageSize ?? 65536;
    if (!Number.isInteger(pageSize) || pageSize < 256 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
      throw new InvalidArgumentError(`PageAllocator: option pageSize must be a power of two from 256 to 65536, received ${describe(pageSize)}.`);
    }
    const shift = 31 - Math.clz32(pageSize);
    const maxPages = Math.floor(space.maximumBytes / pageSize);
    const controlBytes = controlBytesFor(maxPages);
    const controlPtr = options.controlPtr ?? pageSize;
    if (typeof controlPtr !== "number" || controlPtr >>> 0 !== controlPtr || controlPtr % 8 !== 0 || controlPtr === 0) {
      throw new InvalidArgumentError(`PageAllocator: option controlPtr must be a non-zero 8-aligned address, received ${describe(controlPtr)}.`);
    }
    const firstByte = options.firstByte ?? controlPtr + controlBytes;
    if (!Number.isSafeInteger(firstByte) || firstByte < controlPtr + controlBytes) {
      throw new InvalidArgumentError(
        `PageAllocator: option firstByte (${describe(firstByte)}) must lie after the control block ` +
          `(${hex(controlPtr)} + ${formatBytes(controlBytes)} for ${maxPages} pages).`,
      );
    }
    const firstPage = Math.max(1, Math.ceil(firstByte / pageSize));
    if (firstPage >= maxPages) {
      throw new InvalidArgumentError(
        `PageAllocator: the control block (${formatBytes(controlBytes)}) leaves no pages in a ${formatBytes(space.maximumBytes)} space; ` +
          `raise maximumBytes or the page size.`,
      );
    }
    space.ensureByteLength(Math.max(controlPtr + controlBytes, firstPage * pageSize));
    const u32 = space.u32;
    const cw = controlPtr >>> 2;
    u32.fill(0, cw, cw + controlBytes / 4);
    writeControlHeader(space, controlPtr, PAGE_MAGIC, LAYOUT_VERSION);
    u32[cw + W_PAGE_SHIFT] = shift;
    u32[cw + W_FIRST_PAGE] = firstPage;
    u32[cw + W_MAX_PAGES] = maxPages;
    u32[cw + W_TOP_PAGE] = firstPage;
    this.name = options.name ?? "pages";
    this.space = space;
    this.pageSize = pageSize;
    this.pageShift = shift;
    this.controlPtr = controlPtr;
    this.cw = cw;
    this.maxPages = maxPages;
    this.firstPage = firstPage;
    this.stateBase = cw + HEADER_WORDS;
    this.tagWordBase = this.stateBase + maxPages;
    this.nextBase = this.tagWordBase + maxPages;
    this.prevBase = this.nextBase + maxPages;
    this.u32 = space.u32;
    this.u8 = space.u8;
    this.unsubscribe = space.onGrow(() => {
      this.u32 = space.u32;
      this.u8 = space.u8;
    });
  }

  /** Bytes of control block a page allocator needs for this maximum size and page size. */
  static controlBytes(maximumBytes: number, pageSize = 65536): number {
    return controlBytesFor(Math.floor(maximumBytes / pageSize));
  }

  /**
   * A second handle on a page allocator whose control block already lives at
   * `controlPtr` in `space` (another thread, after receiving the memory).
   * Refuses a wrong pointer or an old layout with InvalidArgumentError.
   * Owner names are not shared; attached handles report owners by id.
   */
  static attach(space: AddressSpace, controlPtr: Ptr, name = "pages"): PageAllocator {
    if (typeof controlPtr !== "number") {
      throw new InvalidArgumentError(`PageAllocator.attach: ${describe(controlPtr)} is not a control block address (a non-zero multiple of 8).`);
    }
    checkControlHeader(space, controlPtr, PAGE_MAGIC, LAYOUT_VERSION, "PageAllocator.attach");
    const handle = Object.create(PageAllocator.prototype) as PageAllocator;
    const u32 = space.u32;
    const cw = controlPtr >>> 2;
    const shift = u32[cw + W_PAGE_SHIFT]!;
    const maxPages = u32[cw + W_MAX_PAGES]!;
    const stateBase = cw + HEADER_WORDS;
    const fields: Record<string, unknown> = {
      name,
      space,
      pageSize: 1 << shift,
      pageShift: shift,
      controlPtr,
      cw,
      maxPages,
      firstPage: u32[cw + W_FIRST_PAGE]!,
      stateBase,
      tagWordBase: stateBase + maxPages,
      nextBase: stateBase + 2 * maxPages,
      prevBase: stateBase + 3 * maxPages,
      u32,
      u8: space.u8,
      ownerNames: [],
      destroyed: false,
      reclaimers: new Reclaimers(),
    };
    Object.assign(handle, fields);
    Object.assign(handle, { unsubscribe: space.onGrow(() => Object.assign(handle, { u32: space.u32, u8: space.u8 })) });
    return handle;
  }

  /**
   * Stops listening to the space and retires this handle: every later
   * operation throws DestroyedError. The control block and spans stay as they
   * are (another handle attached to them keeps working). Idempotent.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.unsubscribe();
  }

  // ---------------------------------------------------------------- Allocator

  /** A span of whole pages (size 0 takes one page), aligned to max(align, pageSize). */
  allocate(size: number, align = 8): Ptr {
    validateAllocation(this.name, size, align);
    if (this.destroyed) throw this.destroyedError("allocate");
    const head = this.take(this.pagesFor(size), align, size);
    return head << this.pageShift;
  }

  /** Returns the span at `ptr`; merges it with free neighbours. */
  deallocate(ptr: Ptr): void {
    if (ptr === 0) return;
    const head = this.liveHead(ptr, "deallocate");
    const u32 = this.u32;
    const count = u32[this.stateBase + head]! & COUNT_MASK;
    this.clearTags(head, count);
    this.release(head, count);
    u32[this.cw + W_LIVE_SPANS]!--;
    u32[this.cw + W_LIVE_PAGES] = u32[this.cw + W_LIVE_PAGES]! - count;
    u32[this.cw + W_FREE_COUNT]!++;
  }

  /** Shrinks in place, grows in place into a free right neighbour, else moves. */
  reallocate(ptr: Ptr, newSize: number, align = 8): Ptr {
    validateAllocation(this.name, newSize, align);
    if (ptr === 0) return this.allocate(newSize, align);
    const head = this.liveHead(ptr, "reallocate");
    const u32 = this.u32;
    const sb = this.stateBase;
    const count = u32[sb + head]! & COUNT_MASK;
    const want = this.pagesFor(newSize);
    if (ptr % align === 0) {
      if (want === count) return ptr;
      if (want < count) {
        this.clearTags(head + want, count - want);
        this.writeSpan(head, want, USED);
        this.release(head + want, count - want);
        u32[sb + head + want] = u32[sb + head + want]! & ~FREED; // never a block start: a later free of it is an invalid pointer
        u32[this.cw + W_LIVE_PAGES] = u32[this.cw + W_LIVE_PAGES]! - (count - want);
        return ptr;
      }
      const right = head + count;
      const rs = right < u32[this.cw + W_TOP_PAGE]! ? u32[sb + right]! : 0;
      if ((rs & FREE_HEAD) === FREE_HEAD && (rs & COUNT_MASK) >= want - count) {
        const rc = rs & COUNT_MASK;
        this.unlinkFree(right, rc);
        for (let i = head + count - 1; i < right + rc; i++) if (i > head) u32[sb + i] = 0;
        this.writeSpan(head, want, USED);
        if (rc > want - count) this.insertFree(head + want, rc - (want - count));
        this.fillTags(right, want - count, u32[this.tagWordBase + head]!);
        this.addLivePages(want - count);
        return ptr;
      }
    }
    const tag = u32[this.tagWordBase + head]!;
    const moved = this.take(want, align, newSize); // may grow the memory: re-read views below
    this.u8.copyWithin(moved << this.pageShift, ptr, ptr + Math.min(count, want) * this.pageSize);
    this.fillTags(moved, want, tag);
    this.deallocate(ptr);
    const fresh = this.u32;
    fresh[this.cw + W_ALLOC_COUNT]!--;
    fresh[this.cw + W_FREE_COUNT]!--;
    return moved << this.pageShift;
  }

  /** Bytes in the live span at `ptr`. */
  allocatedSize(ptr: Ptr): number {
    const head = this.liveHead(ptr, "allocatedSize");
    return (this.u32[this.stateBase + head]! & COUNT_MASK) * this.pageSize;
  }

  /** True when `ptr` is the start of a live span. */
  owns(ptr: Ptr): boolean {
    if (typeof ptr !== "number" || ptr >>> 0 !== ptr || (ptr & (this.pageSize - 1)) !== 0 || this.destroyed) return false;
    const page = ptr >>> this.pageShift;
    if (page < this.firstPage || page >= this.u32[this.cw + W_TOP_PAGE]!) return false;
    return (this.u32[this.stateBase + page]! & USED_HEAD) === USED_HEAD;
  }

  /** liveBytes counts whole pages (usable sizes); reservedBytes the pages carved from the space so far. */
  stats(): AllocatorStats {
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
    this.u32[this.cw + W_PEAK_LIVE_PAGES] = this.u32[this.cw + W_LIVE_PAGES]!;
  }

  // ---------------------------------------------------------------- reclaim

  /**
   * Registers a lessee's hook that gives back the pages it only caches (empty
   * spans, slabs, spare chunks). Before an allocation throws OutOfMemoryError,
   * the page allocator calls every hook once and retries; only that failing
   * path pays for it. Returns a function that unregisters the hook. The heap,
   * slot and temp allocators register themselves.
   */
  addReclaimer(reclaim: PageReclaimer): () => void {
    return this.reclaimers.addReclaimer(reclaim);
  }

  /**
   * Asks every registered lessee to give back its cached pages now (say,
   * after unloading a level); returns the bytes given back. Allocations do
   * this on their own before they fail.
   */
  reclaim(): number {
    return Math.max(0, this.reclaimers.run());
  }

  // ------------------------------------------------------------ page map API

  /** Registers an allocator that leases spans; returns its owner id (1..255) for {@link setTag}. */
  registerOwner(name: string): number {
    if (this.destroyed) throw this.destroyedError("registerOwner");
    const u32 = this.u32;
    const id = u32[this.cw + W_OWNER_COUNT]! + 1;
    if (id > 255) throw new InvalidArgumentError(`${this.name}.registerOwner(${JSON.stringify(name)}): all 255 owner ids are taken.`);
    u32[this.cw + W_OWNER_COUNT] = id;
    this.ownerNames[id] = name;
    return id;
  }

  /** The name an owner id was registered with (`owner#id` when unknown, e.g. on an attached handle). */
  ownerName(owner: number): string {
    return this.ownerNames[owner] ?? `owner#${owner}`;
  }

  /** Tags every page of the live span at `spanPtr` with `owner << 24 | data`. */
  setTag(spanPtr: Ptr, owner: number, data = 0): void {
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
    return page < this.maxPages ? this.u32[this.tagWordBase + page]! : 0;
  }

  /** Walks every carved span in address order (reports and memory maps). */
  forEachSpan(visit: SpanVisitor): void {
    const u32 = this.u32;
    const top = u32[this.cw + W_TOP_PAGE]!;
    for (let page = this.firstPage; page < top; ) {
      const s = u32[this.stateBase + page]!;
      const count = s & COUNT_MASK;
      if (count === 0) throw this.corrupt(page, "no span boundary where a span should start");
      const used = (s & USED) !== 0;
      visit(page << this.pageShift, count * this.pageSize, used, used ? u32[this.tagWordBase + page]! : 0);
      page += count;
    }
  }

  /** First address this allocator can hand out, and the end of what it has carved so far. */
  get range(): { start: Ptr; end: Ptr; limit: Ptr } {
    return {
      start: this.firstPage << this.pageShift,
      end: this.u32[this.cw + W_TOP_PAGE]! << this.pageShift,
      limit: this.maxPages * this.pageSize,
    };
  }

  // --------------------------------------------------------------- checking

  /** Verifies boundary words, coalescing, bins, bitmaps and counters; throws CorruptionError at the first fault. O(spans + free pages). */
  check(): void {
    checkPageMap(this.u32, {
      cw: this.cw,
      firstPage: this.firstPage,
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

  /** Whole pages for `size` bytes (0 takes one). Integer ops only: a float here would be boxed at every call. */
  private pagesFor(size: number): number {
    return size === 0 ? 1 : ((size - 1) >>> this.pageShift) + 1;
  }

  /** Finds (or carves) `count` pages aligned to `align`, marks them used, counts the allocation. */
  private take(count: number, align: number, size: number): number {
    const alignPages = align > this.pageSize ? align >>> this.pageShift : 1;
    const need = count + alignPages - 1;
    if (need > this.maxPages) throw this.outOfMemory(size, align);
    let head = this.findFree(need);
    if (head === 0) head = this.takeSlow(need, size, align);
    const u32 = this.u32;
    const avail = u32[this.stateBase + head]! & COUNT_MASK;
    this.unlinkFree(head, avail);
    u32[this.stateBase + head] = u32[this.stateBase + head]! & FREED;
    u32[this.stateBase + head + avail - 1] = u32[this.stateBase + head + avail - 1]! & FREED;
    const start = (head + alignPages - 1) & -alignPages; // alignPages is a power of two
    if (start > head) this.insertFree(head, start - head);
    if (head + avail > start + count) this.insertFree(start + count, head + avail - start - count);
    // Interior words may hold FREED marks from earlier spans; a used span's interior is all zero.
    for (let i = start + 1; i < start + count - 1; i++) u32[this.stateBase + i] = 0;
    this.writeSpan(start, count, USED);
    u32[this.cw + W_LIVE_SPANS]!++;
    u32[this.cw + W_ALLOC_COUNT]!++;
    this.addLivePages(count);
    return start;
  }

  /**
   * No bin at or above the rounded request holds a span: carve from the
   * wilderness; failing that, search the request's own bin exactly; failing
   * that, ask the reclaimers for cached pages and try all three once more.
   * Returns a listed free span of at least `need` pages, or throws
   * OutOfMemoryError (the latest figures) and changes nothing.
   */
  private takeSlow(need: number, size: number, align: number): number {
    let failure: OutOfMemoryError;
    try {
      return this.carve(need, size, align);
    } catch (err) {
      if (!(err instanceof OutOfMemoryError)) throw err;
      failure = err;
    }
    const exact = this.findExact(need);
    if (exact !== 0) return exact;
    if (this.reclaimers.run() <= 0) throw failure;
    const head = this.findFree(need) || this.findExact(need);
    return head !== 0 ? head : this.carve(need, size, align);
  }

  /**
   * A span of at least `need` pages in `need`'s own bin, whose smaller spans
   * the good-fit search skips (a 9-page request looks from the bin [10, 11]
   * up; a 9-page span files in [8, 9]). O(spans in that bin): failing path only.
   */
  private findExact(need: number): number {
    if (need > COUNT_MASK) return 0;
    const u32 = this.u32;
    for (let node = u32[this.cw + W_HEADS + binFl(need) * SL_COUNT + binSl(need)]!; node !== 0; node = u32[this.nextBase + node]!) {
      if ((u32[this.stateBase + node]! & COUNT_MASK) >= need) return node;
    }
    return 0;
  }

  /**
   * Grows the carved region so a listed free span of `need` pages sits at its
   * top (extending a free span already there), growing the memory as needed.
   * Returns that span's head. Throws OutOfMemoryError and changes nothing
   * when the maximum is reached.
   */
  private carve(need: number, size: number, align: number): number {
    let top: number;
    let reuse: number;
    let start: number;
    let newTop: number;
    // Grow first, then read the state again: growth runs onGrow listeners, user
    // code that may itself allocate or free pages here. Nothing is claimed until
    // the memory is large enough and no listener can run.
    for (;;) {
      top = this.u32[this.cw + W_TOP_PAGE]!;
      reuse = 0;
      if (top > this.firstPage) {
        const t = this.u32[this.stateBase + top - 1]!;
        if ((t & FREE) !== 0) reuse = t & COUNT_MASK;
      }
      start = top - reuse;
      newTop = start + need;
      if (newTop > this.maxPages) throw this.outOfMemory(size, align);
      if (newTop * this.pageSize <= this.space.byteLength) break;
      try {
        this.space.ensureByteLength(newTop * this.pageSize);
      } catch (cause) {
        throw this.outOfMemory(size, align, cause);
      }
    }
    const u32 = this.u32; // a grow listener replaced the view
    if (reuse > 0) {
      this.unlinkFree(start, reuse);
      u32[this.stateBase + top - 1] = u32[this.stateBase + top - 1]! & FREED;
    }
    u32[this.cw + W_TOP_PAGE] = newTop;
    this.insertFree(start, need);
    return start;
  }

  private findFree(need: number): number {
    const u32 = this.u32;
    const cw = this.cw;
    const rounded = roundUpToBin(need);
    if (rounded > COUNT_MASK) return 0;
    let fl = binFl(rounded);
    const sl = binSl(rounded);
    let slMap = u32[cw + W_SL_BITMAPS + fl]! & (~0 << sl);
    if (slMap === 0) {
      const flMap = fl + 1 < 32 ? u32[cw + W_FL_BITMAP]! & (~0 << (fl + 1)) : 0;
      if (flMap === 0) return 0;
      fl = ffs(flMap);
      slMap = u32[cw + W_SL_BITMAPS + fl]!;
    }
    return u32[cw + W_HEADS + fl * SL_COUNT + ffs(slMap)]!;
  }

  /** Frees [head, head+count) and merges with free neighbours. */
  private release(head: number, count: number): void {
    const u32 = this.u32;
    const sb = this.stateBase;
    u32[sb + head] = FREED; // stays marked even when merged away: a second free reads as a double free
    if (count > 1) u32[sb + head + count - 1] = 0; // an interior word from now on
    let start = head;
    let total = count;
    if (head > this.firstPage) {
      const left = u32[sb + head - 1]!;
      if ((left & FREE) !== 0) {
        const lc = left & COUNT_MASK;
        start = head - lc;
        this.unlinkFree(start, lc);
        u32[sb + start] = u32[sb + start]! & FREED;
        u32[sb + head - 1] = u32[sb + head - 1]! & FREED;
        total += lc;
      }
    }
    const right = head + count;
    if (right < u32[this.cw + W_TOP_PAGE]!) {
      const rs = u32[sb + right]!;
      if ((rs & FREE) !== 0) {
        const rc = rs & COUNT_MASK;
        this.unlinkFree(right, rc);
        u32[sb + right] = u32[sb + right]! & FREED;
        u32[sb + right + rc - 1] = u32[sb + right + rc - 1]! & FREED;
        total += rc;
      }
    }
    this.insertFree(start, total);
  }

  private insertFree(head: number, count: number): void {
    this.writeSpan(head, count, FREE);
    this.link(head, count);
    this.u32[this.cw + W_FREE_PAGES] = this.u32[this.cw + W_FREE_PAGES]! + count;
  }

  private unlinkFree(head: number, count: number): void {
    this.unlink(head, count);
    this.u32[this.cw + W_FREE_PAGES] = this.u32[this.cw + W_FREE_PAGES]! - count;
  }

  /** Writes a span's boundary words. Free spans keep FREED marks, so a freed block start stays recognisable. */
  private writeSpan(head: number, count: number, kind: number): void {
    const u32 = this.u32;
    const h = this.stateBase + head;
    const keep = kind === FREE ? FREED : 0;
    u32[h] = (kind | HEAD | count | (u32[h]! & keep)) >>> 0;
    if (count > 1) {
      const t = h + count - 1;
      u32[t] = (kind | count | (u32[t]! & keep)) >>> 0;
    }
  }

  private link(head: number, count: number): void {
    const u32 = this.u32;
    const cw = this.cw;
    const fl = binFl(count);
    const sl = binSl(count);
    const slot = cw + W_HEADS + fl * SL_COUNT + sl;
    const first = u32[slot]!;
    u32[this.nextBase + head] = first;
    u32[this.prevBase + head] = 0;
    if (first !== 0) u32[this.prevBase + first] = head;
    u32[slot] = head;
    u32[cw + W_SL_BITMAPS + fl] = u32[cw + W_SL_BITMAPS + fl]! | 1 << sl;
    u32[cw + W_FL_BITMAP] = u32[cw + W_FL_BITMAP]! | 1 << fl;
  }

  private unlink(head: number, count: number): void {
    const u32 = this.u32;
    const cw = this.cw;
    const next = u32[this.nextBase + head]!;
    const prev = u32[this.prevBase + head]!;
    if (next !== 0) u32[this.prevBase + next] = prev;
    if (prev !== 0) {
      u32[this.nextBase + prev] = next;
    } else {
      const fl = binFl(count);
      const sl = binSl(count);
      u32[cw + W_HEADS + fl * SL_COUNT + sl] = next;
      if (next === 0) {
        const slMap = (u32[cw + W_SL_BITMAPS + fl] = u32[cw + W_SL_BITMAPS + fl]! & ~(1 << sl));
        if (slMap === 0) u32[cw + W_FL_BITMAP] = u32[cw + W_FL_BITMAP]! & ~(1 << fl);
      }
    }
    u32[this.nextBase + head] = 0;
    u32[this.prevBase + head] = 0;
  }

  private addLivePages(count: number): void {
    const u32 = this.u32;
    const live = (u32[this.cw + W_LIVE_PAGES] = u32[this.cw + W_LIVE_PAGES]! + count);
    if (live > u32[this.cw + W_PEAK_LIVE_PAGES]!) u32[this.cw + W_PEAK_LIVE_PAGES] = live;
  }

  private fillTags(head: number, count: number, tag: number): void {
    const u32 = this.u32;
    const base = this.tagWordBase + head;
    for (let i = 0; i < count; i++) u32[base + i] = tag;
  }

  private clearTags(head: number, count: number): void {
    if (this.u32[this.tagWordBase + head] !== 0) this.fillTags(head, count, 0);
  }

  /** The head page of the live span at `ptr`, or throws InvalidPointerError / DoubleFreeError. */
  private liveHead(ptr: Ptr, op: string): number {
    // The good path builds no strings: messages are made only when something is wrong.
    if (typeof ptr === "number" && ptr >>> 0 === ptr && (ptr & (this.pageSize - 1)) === 0 && !this.destroyed) {
      const page = ptr >>> this.pageShift;
      if (page >= this.firstPage && page < this.u32[this.cw + W_TOP_PAGE]! && (this.u32[this.stateBase + page]! & USED_HEAD) === USED_HEAD) return page;
    }
    return this.rejectPointer(ptr, op);
  }

  /** Throws the error that explains why `ptr` is not a live span head. */
  private rejectPointer(ptr: Ptr, op: string): never {
    const who = `${this.name}.${op}`;
    validatePointerShape(who, ptr);
    if (this.destroyed) throw this.destroyedError(op);
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


  private outOfMemory(size: number, align: number, cause?: unknown): OutOfMemoryError {
    const s = this.stats();
    const free = this.u32[this.cw + W_FREE_PAGES]! * this.pageSize;
    return new OutOfMemoryError(
      `${this.name}: cannot allocate ${formatSize(size)} (align ${align}): ` +
        `${formatBytes(s.liveBytes)} live in ${s.liveCount} spans, ${formatBytes(s.reservedBytes)} reserved, ${formatBytes(free)} free in carved pages, ` +
        `${formatBytes(this.maxPages * this.pageSize)} maximum.\n  Raise maximumBytes or free spans.`,
      cause === undefined ? undefined : { cause },
    );
  }

  private destroyedError(op: string): DestroyedError {
    return destroyedError(`${this.name}.${op}`, "this page allocator was destroyed", "create a new one, or attach a new handle to its control block.");
  }

  private corrupt(page: number, what: string): CorruptionError {
    return new CorruptionError(`${this.name}: page map corrupt at page ${page} (${hex(page << this.pageShift)}): ${what}.`);
  }
}
