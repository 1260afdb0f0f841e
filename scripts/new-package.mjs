// Scaffolds packages/<name> with the house layout (used once per package).
// Usage: node scripts/new-package.mjs <folder> "<description>" [--private]
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';

const [folder, description = '', flag] = process.argv.slice(2);
if (!folder) throw new Error('usage: new-package.mjs <folder> <description> [--private]');
const dir = new URL(`../packages/${folder}/`, import.meta.url);
if (existsSync(dir)) throw new Error(`packages/${folder} exists`);
mkdirSync(new URL('src/', dir), { recursive: true });
mkdirSync(new URL('test/', dir), { recursive: true });
const isPrivate = flag === '--private';
const pkg = {
  name: `@cloakroom/${folder}`,
  version: '0.1.0',
  description,
  license: 'MIT',
  ...(isPrivate ? { private: true } : {}),
  type: 'module',
  sideEffects: false,
  engines: { node: '>=20.19' },
  exports: {
    '.': {
      import: { types: './dist/index.d.ts', default: './dist/index.js' },
      require: { types: './dist/index.d.cts', default: './dist/index.cjs' },
    },
    './package.json': './package.json',
  },
  main: './dist/index.cjs',
  module: './dist/index.js',
  types: './dist/index.d.cts',
  files: ['dist'],
  scripts: { build: 'tsup' },
  ...(isPrivate ? {} : { publishConfig: { access: 'public' } }),
  repository: {
    type: 'git',
    url: 'git+https://github.com/cloakroom/cloakroom.git',
    directory: `packages/${folder}`,
  },
  keywords: ['jwt', 'session', 'cloakroom'],
};
writeFileSync(new URL('package.json', dir), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  new URL('tsconfig.json', dir),
  `${JSON.stringify({ extends: '../../tsconfig.base.json', include: ['src'] }, null, 2)}\n`,
);
writeFileSync(
  new URL('tsup.config.ts', dir),
  "import { defineConfig } from 'tsup';\nimport { base } from '../../tsup.base';\n\nexport default defineConfig({ ...base });\n",
);
writeFileSync(new URL('src/index.ts', dir), '');
writeFileSync(new URL('README.md', dir), `# @cloakroom/${folder}\n\n${description}\n`);
