// The recipe pages show the tested code, not a copy that drifts from it.
// After editing a recipe: node packages/example-recipes/scripts/sync-docs.mjs
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const docsDir = `${root}docs/recipes/`;
const srcDir = `${root}packages/example-recipes/src/`;
const pages = readdirSync(docsDir).filter((name) => name.endsWith('.md'));
const recipes = readdirSync(srcDir).filter((name) => name.endsWith('.ts') && name !== 'index.ts');

/** Every `<!-- recipe-source: path -->` block: the path and the code under it. */
function sourceBlocks(): Map<string, string> {
  const blocks = new Map<string, string>();
  for (const page of pages) {
    const text = readFileSync(docsDir + page, 'utf8');
    for (const match of text.matchAll(
      /<!-- recipe-source: (\S+) -->\n```ts\n((?:[\s\S]*?\n)?)```$/gm,
    )) {
      blocks.set(match[1]!, match[2]!);
    }
  }
  return blocks;
}

describe('recipe docs', () => {
  it('every recipe has a page, and the page shows its source verbatim', () => {
    const blocks = sourceBlocks();
    expect(recipes.length).toBe(5);
    for (const file of recipes) {
      const path = `packages/example-recipes/src/${file}`;
      expect(blocks.has(path), `${path} is shown in docs/recipes`).toBe(true);
      expect(blocks.get(path), `docs block of ${path} (run scripts/sync-docs.mjs)`).toBe(
        readFileSync(srcDir + file, 'utf8'),
      );
    }
  });

  it('recipe sources hold no code fence, so a page block ends where the file ends', () => {
    for (const file of recipes) {
      expect(readFileSync(srcDir + file, 'utf8')).not.toContain('```');
    }
  });

  it('every ts block imports by package name only, so it compiles where it is pasted', () => {
    for (const page of pages) {
      const text = readFileSync(docsDir + page, 'utf8');
      for (const [, code] of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
        expect(code, page).not.toMatch(/from '\.{1,2}\//);
      }
    }
  });

  it('the index links every recipe page', () => {
    const index = readFileSync(`${docsDir}README.md`, 'utf8');
    for (const page of pages.filter((name) => name !== 'README.md')) {
      expect(index).toContain(`(${page})`);
    }
  });
});
