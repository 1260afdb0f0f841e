import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

export default defineConfig([
  // The library API (runCli): ESM + CJS with types, like every package.
  { ...base },
  // The bin: ESM only (it uses top-level await), no types, a shebang.
  {
    ...base,
    entry: ['src/cli.ts'],
    format: ['esm'],
    dts: false,
    clean: false,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
