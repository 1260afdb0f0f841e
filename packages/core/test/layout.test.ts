// #19: core's folders are layers, and imports run one way. The lint step
// (scripts/check-cycles.mjs) catches cycles; this catches a lower layer
// reaching up, which is how cycles start.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src/', import.meta.url));
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
const folderOf = (path: string) => relative(src, path).split('/')[0] ?? '';

const edges = files(src).flatMap((file) => {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/from '(\.{1,2}\/[^']+)'/g)].map((m) => ({
    from: relative(src, file),
    to: folderOf(resolve(dirname(file), m[1] ?? '')),
    fromFolder: folderOf(file),
  }));
});

// Which folders each folder may import from (besides itself).
const allowed: Record<string, readonly string[]> = {
  errors: [],
  lib: ['errors'],
  contracts: ['errors'],
  'store-kit': ['errors', 'contracts', 'crypto'],
  ticket: ['errors', 'lib'],
  crypto: ['errors', 'lib', 'contracts', 'ticket'],
  jwt: ['errors', 'lib', 'contracts', 'crypto', 'keys'],
  keys: ['errors', 'lib', 'contracts', 'crypto', 'jwt', 'keys'],
  issuers: ['errors', 'lib', 'contracts', 'jwt', 'keys'],
  claims: ['errors', 'lib', 'contracts', 'keys'],
  policy: ['errors', 'lib', 'contracts'],
  audit: ['errors', 'lib', 'contracts'],
  diagnostics: ['errors', 'lib', 'contracts', 'store-kit', 'audit', 'keys'],
};

describe('core layout (#19)', () => {
  it('no folder below session/ imports session/, and each imports only the layers under it', () => {
    const wrong = edges.filter(
      (e) =>
        e.fromFolder !== e.to &&
        e.fromFolder in allowed &&
        !(allowed[e.fromFolder] ?? []).includes(e.to),
    );
    expect(wrong.map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('the Web-standard entry reaches no file that imports a Node built-in', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      expect(text, relative(src, file)).not.toMatch(
        /from 'node:|from '(crypto|http|https|tls|fs)'/,
      );
      for (const m of text.matchAll(/from '(\.{1,2}\/[^']+)'/g)) {
        visit(`${resolve(dirname(file), m[1] ?? '')}.ts`);
      }
    };
    visit(join(src, 'web.ts'));
    expect(seen.size).toBeGreaterThan(2);
  });
});
