import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests import every workspace package by its published name; in the
// workspace that name resolves to the package source, so no build is needed
// before a test run. The packed-tarball smoke test (scripts/smoke-pack.mjs)
// proves the same names resolve from the built packages.
const root = fileURLToPath(new URL('.', import.meta.url));
// Exact matches, so a subpath entry (`@cloakroom/core/web` -> src/web.ts) is
// not read as a path under the package's main entry.
const alias: { find: RegExp; replacement: string }[] = [];
for (const dir of readdirSync(`${root}packages`)) {
  const entry = `${root}packages/${dir}/src/index.ts`;
  if (!existsSync(entry)) continue;
  alias.push({ find: new RegExp(`^@cloakroom/${dir}$`), replacement: entry });
  for (const sub of ['web']) {
    const subEntry = `${root}packages/${dir}/src/${sub}.ts`;
    if (existsSync(subEntry)) {
      alias.push({ find: new RegExp(`^@cloakroom/${dir}/${sub}$`), replacement: subEntry });
    }
  }
}

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'scripts/test/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
