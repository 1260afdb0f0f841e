// Copies each recipe's source into its docs page, so the page shows exactly
// the tested code. A page marks the block to fill with
// `<!-- recipe-source: packages/example-recipes/src/<file>.ts -->` on the
// line before a ```ts fence. test/docs-sync.test.ts fails when they differ.
//
//   node packages/example-recipes/scripts/sync-docs.mjs
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const docs = `${root}docs/recipes/`;
const block = /(<!-- recipe-source: (\S+) -->\n```ts\n)(?:[\s\S]*?\n)?(```)$/gm;

for (const page of readdirSync(docs).filter((name) => name.endsWith('.md'))) {
  const before = readFileSync(docs + page, 'utf8');
  const after = before.replace(block, (_all, open, path, close) => {
    const source = readFileSync(root + path, 'utf8').replace(/\n*$/, '\n');
    return open + source + close;
  });
  if (after !== before) {
    writeFileSync(docs + page, after);
    console.log(`updated docs/recipes/${page}`);
  }
}
