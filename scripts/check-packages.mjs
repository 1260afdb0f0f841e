// Packaging checks for every published package: publint --strict and
// @arethetypeswrong/cli (types for both `import` and `require`). Run after
// `pnpm build`. Exits non-zero on the first failing package.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const bin = (name) => new URL(`node_modules/.bin/${name}`, root).pathname;
let failed = false;
for (const dir of readdirSync(new URL('packages/', root))) {
  const pkgPath = new URL(`packages/${dir}/package.json`, root);
  if (!existsSync(pkgPath)) continue;
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  if (pkg.private) continue;
  const cwd = new URL(`packages/${dir}/`, root).pathname;
  // A package whose entry has no `require` condition is ESM-only on purpose
  // (the conformance suite: vitest cannot be required); check it as such.
  const esmOnly = pkg.exports?.['.']?.require === undefined;
  for (const [tool, args] of [
    ['publint', ['--strict']],
    // jose 6 is ESM-only; our CJS build requires it, which Node >= 20.19 supports.
    [
      'attw',
      ['--pack', '.', '--profile', esmOnly ? 'esm-only' : 'node16', '--format', 'table-flipped'],
    ],
  ]) {
    try {
      const out = execFileSync(bin(tool), args, {
        cwd,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      console.log(`ok   ${pkg.name}: ${tool}`);
      if (process.env.VERBOSE) console.log(out);
    } catch (error) {
      failed = true;
      console.error(`FAIL ${pkg.name}: ${tool}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
  }
}
process.exit(failed ? 1 : 0);
