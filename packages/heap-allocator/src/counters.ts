import { W_LIVE, W_PEAK } from "./layout.js";

/** Adds `delta` usable bytes to the control block's liveBytes (word index `r`) and raises the peak when passed. */
export const countLive = (m: Int32Array, r: number, delta: number): void => {
  const live = m[r + W_LIVE]! + delta;
  m[r + W_LIVE] = live;
  if (live > m[r + W_PEAK]!) m[r + W_PEAK] = live;
};
