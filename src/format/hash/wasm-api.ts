/**
 * The few WebAssembly JS-API types this package uses. The tsconfig's libs (ES2022 +
 * @types/node) do not declare the `WebAssembly` global, which lives in the DOM lib;
 * pulling that whole lib in would make browser-only names type-check in Node code.
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  instantiate: (...args: unknown[]) => Promise<unknown>;
}

/** The global `WebAssembly`, or null where there is none. */
export const wasmApi: WasmApi | null = (globalThis as { WebAssembly?: WasmApi }).WebAssembly ?? null;
