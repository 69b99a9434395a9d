/**
 * Size classes of the slot allocator.
 *
 * Classes are multiples of the 8-byte granule, spaced so that a request never
 * wastes more than 12.5% of itself to class rounding:
 *
 *   range          step   classes
 *   8 .. 64         8     8 16 24 32 40 48 56 64
 *   64 .. 128      16     80 96 112 128
 *   128 .. 256     16     144 160 176 192 208 224 240 256
 *   256 .. 512     32     288 320 352 384 416 448 480 512
 *   512 .. 1024    64     576 640 704 768 832 896 960 1024
 *   2^k .. 2^k+1   2^k/8  (eight per doubling above, up to maxSlotSize)
 *
 * Waste of a request of `size` bytes is measured against its granule size
 * `g = max(8, roundUp(size, 8))`: `(classSize - g) / g`. Above 128 bytes a class
 * is at most `2^k / 8` past the class below it, and `g` is at least `2^k + 8`,
 * so the waste stays under 1/8; between 64 and 128 the worst case is 72 -> 80
 * (11.1%). Rounding a size up to the 8-byte granule itself (up to 7 bytes,
 * e.g. 9 -> 16) is not class waste: every 8-aligned allocator pays it.
 */

/** Bytes every slot size is a multiple of, and the alignment every slot has. */
export const GRANULE = 8;

/** Smallest allowed `maxSlotSize`. */
export const MIN_MAX_SLOT_SIZE = 16;

/** Largest allowed `maxSlotSize` (the largest alignment the page allocator can give a slab). */
export const MAX_MAX_SLOT_SIZE = 65536;

/**
 * The slot sizes for a largest slot of `maxSlotSize` bytes (a power of two,
 * 16..65536), ascending. 36 classes for the default 1024.
 */
export function sizeClasses(maxSlotSize: number): number[] {
  const classes: number[] = [];
  let size = 0;
  while (size < maxSlotSize) {
    size += classStep(size);
    classes.push(size);
  }
  return classes;
}

/** The step from the class `size` to the next one. */
function classStep(size: number): number {
  if (size < 64) return GRANULE;
  if (size < 256) return 16;
  // 2^k <= size < 2^(k+1): eight classes per doubling.
  return 2 ** Math.floor(Math.log2(size)) / 8;
}

/** The largest power of two dividing `size` (> 0): the alignment a class of that slot size guarantees in an aligned slab. */
export function naturalAlignment(size: number): number {
  return size & -size;
}

/**
 * The rounding waste of serving `size` from a slot of `slotSize` bytes, as a
 * fraction of the request's granule size (see the file comment).
 */
export function roundingWaste(size: number, slotSize: number): number {
  const granule = Math.max(GRANULE, Math.ceil(size / GRANULE) * GRANULE);
  return (slotSize - granule) / granule;
}

/**
 * The index in {@link sizeClasses} of the smallest class holding `size`
 * bytes (an integer from 0 to the largest class), from the spacing above.
 * Arithmetic, not a table: the allocation path reads no typed array for it
 * (each such read pays V8's detached-buffer check once any buffer was
 * detached).
 */
export function classIndex(size: number): number {
  // Classes 0-7: 8..64 in steps of 8.
  if (size <= 64) return size <= 8 ? 0 : (size - 1) >>> 3;
  // Classes 8-19: 80..256 in steps of 16.
  if (size <= 256) return 7 + ((size - 49) >>> 4);
  // 2^k < size <= 2^(k+1): eight classes of 2^k / 8 each, from class 20 (288) on.
  const k = 31 - Math.clz32(size - 1);
  return 20 + ((k - 8) << 3) + ((size - 1 - (1 << k)) >>> (k - 3));
}
