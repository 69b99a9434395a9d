// memkit's imports (`memory.wasmImports(scope).env`): AssemblyScript imports a
// declared function from the module named after its file, here "env".
export declare function malloc(size: usize): usize;
export declare function free(ptr: usize): void;
