// The shared views moved to core (allocators follow growth the same way);
// containers keep importing them from here.
export { SpaceViews, type ViewHolder } from "@memkit/core";
