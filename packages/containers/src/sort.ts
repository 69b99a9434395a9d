import type { NumericView } from "./element-kind.js";

/**
 * Sorts `a[lo..hi)` ascending in place. `float`: move NaNs to the end first.
 * `depth`: quicksort levels before heapsort takes over (default 2·log2(n);
 * tests pass 0 to run the heapsort path).
 */
export type RangeSorter = (a: NumericView, lo: number, hi: number, float: boolean, depth?: number) => void;

/** Ranges this short are finished by insertion sort. */
const INSERTION_LIMIT = 16;

/**
 * Builds an introsort (quicksort with median-of-three pivots, insertion sort
 * for short ranges, heapsort when the recursion gets too deep, so O(n log n)
 * worst case) that works on the typed view in place: no JS array, no
 * comparator closure, no subarray object.
 *
 * A factory, not a function, so that each element kind gets its own copy:
 * V8 keeps type feedback per closure, and one shared sort would see every
 * typed-array class and go megamorphic (about 10x slower element access).
 *
 * NaNs (float kinds) are moved to the end first, as `TypedArray.prototype.sort`
 * does; -0 and +0 compare equal and keep no particular order.
 */
export function createRangeSorter(): RangeSorter {
  function insertion(a: NumericView, lo: number, hi: number): void {
    for (let i = lo + 1; i < hi; i++) {
      const v = a[i]!;
      let j = i - 1;
      while (j >= lo && a[j]! > v) {
        a[j + 1] = a[j]!;
        j--;
      }
      a[j + 1] = v;
    }
  }

  function siftDown(a: NumericView, lo: number, root: number, n: number): void {
    const v = a[lo + root]!;
    let i = root;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && a[lo + child + 1]! > a[lo + child]!) child++;
      if (!(a[lo + child]! > v)) break;
      a[lo + i] = a[lo + child]!;
      i = child;
    }
    a[lo + i] = v;
  }

  function heapsort(a: NumericView, lo: number, hi: number): void {
    const n = hi - lo;
    for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(a, lo, i, n);
    for (let end = n - 1; end > 0; end--) {
      const top = a[lo]!;
      a[lo] = a[lo + end]!;
      a[lo + end] = top;
      siftDown(a, lo, 0, end);
    }
  }

  /** Sorts a[lo..hi) (exclusive end); recursion only on the smaller side keeps the stack O(log n). */
  function introsort(a: NumericView, lo: number, hi: number, depth: number): void {
    while (hi - lo > INSERTION_LIMIT) {
      if (depth === 0) {
        heapsort(a, lo, hi);
        return;
      }
      depth--;
      // Median of three into a[mid]; Hoare's scheme with a pivot value taken
      // from inside the range always stops both scans and splits at lo <= j < last.
      const last = hi - 1;
      const mid = lo + ((last - lo) >> 1);
      if (a[mid]! < a[lo]!) swap(a, mid, lo);
      if (a[last]! < a[lo]!) swap(a, last, lo);
      if (a[last]! < a[mid]!) swap(a, last, mid);
      const pivot = a[mid]!;
      let i = lo - 1;
      let j = hi;
      for (;;) {
        do i++;
        while (a[i]! < pivot);
        do j--;
        while (a[j]! > pivot);
        if (i >= j) break;
        swap(a, i, j);
      }
      // a[lo..j] <= pivot <= a[j+1..hi)
      if (j + 1 - lo < hi - (j + 1)) {
        introsort(a, lo, j + 1, depth);
        lo = j + 1;
      } else {
        introsort(a, j + 1, hi, depth);
        hi = j + 1;
      }
    }
    insertion(a, lo, hi);
  }

  function swap(a: NumericView, i: number, j: number): void {
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }

  return function sortRange(a: NumericView, lo: number, hi: number, float: boolean, depth?: number): void {
    if (float) {
      // NaN breaks every comparison: park NaNs at the end, sort the rest.
      let end = hi;
      for (let i = hi - 1; i >= lo; i--) {
        const v = a[i]!;
        if (v !== v) {
          end--;
          a[i] = a[end]!;
          a[end] = v;
        }
      }
      hi = end;
    }
    const n = hi - lo;
    if (n < 2) return;
    introsort(a, lo, hi, depth ?? 2 * (31 - Math.clz32(n)));
  };
}
