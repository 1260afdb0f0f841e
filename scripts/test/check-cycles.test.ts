import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../check-cycles.mjs', import.meta.url));
let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function run(files: Record<string, string>) {
  dir = mkdtempSync(join(tmpdir(), 'cycles-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
}

describe('scripts/check-cycles.mjs (the lint step that fails on an import cycle)', () => {
  it('fails on a cycle made of type-only imports across folders, naming both files', () => {
    const out = run({
      'pkg/src/a/one.ts': "import type { B } from '../b/two';\nexport type A = { b?: B };\n",
      'pkg/src/b/two.ts': "import type { A } from '../a/one';\nexport type B = { a?: A };\n",
    });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('import cycle in pkg: a/one.ts <-> b/two.ts');
  });

  it('fails on a longer cycle through export-from and multi-line imports', () => {
    const out = run({
      'pkg/src/x.ts': "export { y } from './y';\nexport const x = 1;\n",
      'pkg/src/y.ts': "import {\n  z,\n} from './z';\nexport const y = z;\n",
      'pkg/src/z.ts': "import { x } from './x';\nexport const z = x;\n",
    });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('x.ts <-> y.ts <-> z.ts');
  });

  it('passes a layered package and ignores package imports', () => {
    const out = run({
      'pkg/src/index.ts': "export * from './top';\n",
      'pkg/src/top.ts':
        "import { low } from './lib/low';\nimport { x } from 'other';\nexport const top = low + x;\n",
      'pkg/src/lib/low.ts': 'export const low = 1;\n',
    });
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('no import cycle in 3 source files');
  });
});
