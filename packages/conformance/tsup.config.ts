import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// ESM only: vitest, a peer dependency the suite runs inside, refuses to be
// loaded with require(), so a CommonJS build of this package could never work.
export default defineConfig({ ...base, format: ['esm'] });
