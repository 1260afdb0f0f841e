import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// Two entries: the Node one, and `./web` with no Node built-in (checked by
// scripts/check-web-bundle.mjs, which bundles it for the browser platform).
export default defineConfig({ ...base, entry: ['src/index.ts', 'src/web.ts'] });
