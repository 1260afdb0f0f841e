import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The published .d.ts imports the types of the modules src/ imports (pg's
// Pool and PoolConfig in the options). A consumer with `strict` and without
// skipLibCheck who installs `@cloakroom/store-postgres pg` must find types
// for each of them, or tsc fails with TS7016; pg ships none, so its types
// must come with this package.

const root = join(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
};
const require = createRequire(join(root, 'package.json'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

/** Bare modules src/ imports, other than node: built-ins and @cloakroom packages. */
function externalModules(): Set<string> {
  const found = new Set<string>();
  for (const file of sourceFiles(join(root, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bfrom\s+'([^'.][^']*)'/g)) {
      const spec = m[1] as string;
      if (spec.startsWith('node:') || spec.startsWith('@cloakroom/')) continue;
      found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  return found;
}

describe('package.json', () => {
  it('every module whose types the published declarations import has types a consumer gets installed', () => {
    const modules = externalModules();
    expect(modules).toContain('pg');
    for (const name of modules) {
      const own = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as {
        types?: string;
        typings?: string;
      };
      if (own.types !== undefined || own.typings !== undefined) continue;
      // No types of its own: @types/<name> must be a dependency (installed with this package by
      // every package manager), not a devDependency or an optional peer a consumer must add.
      expect(pkg.dependencies?.[`@types/${name}`], `@types/${name} in dependencies`).toBeDefined();
    }
  });
});
