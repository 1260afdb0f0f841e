import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const script = fileURLToPath(new URL('../check-web-bundle.mjs', import.meta.url));

it('check-web-bundle fails an entry that reaches a Node built-in (as core/src/index.ts would)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webcheck-'));
  try {
    const file = join(dir, 'entry.js');
    writeFileSync(
      file,
      "import { createHash } from 'node:crypto';\nexport const h = createHash;\n",
    );
    const out = spawnSync(process.execPath, [script, file], { encoding: 'utf8' });
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('does not bundle for the browser platform');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
