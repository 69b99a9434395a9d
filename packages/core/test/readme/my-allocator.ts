// The allocator the README's conformance-kit example imports from
// "./my-allocator.js": here, the kit's own reference allocator (bump
// allocation, every live block in a Map, with check() and destroy()).
export { ReferenceAllocator as MyAllocator } from "../fixtures/reference-allocator.js";
