/** BLAKE3's constants (the BLAKE3 paper, section 2), shared by the JS and the WebAssembly kernels. */
export const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
export const MSG_PERMUTATION = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
export const ROUNDS = 7;
/** Domain flags. */
export const CHUNK_START = 1;
export const CHUNK_END = 2;
export const ROOT = 8;
