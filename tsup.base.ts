import type { Options } from 'tsup';

/**
 * Shared build settings: one entry, ESM + CJS, declarations for both
 * (`.d.ts` / `.d.cts`), sourcemaps, an explicit Node 20 target. Dependencies
 * and peer dependencies stay external (tsup's default).
 */
export const base: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  platform: 'node',
  splitting: false,
  treeshake: true,
  tsconfig: 'tsconfig.json',
};
