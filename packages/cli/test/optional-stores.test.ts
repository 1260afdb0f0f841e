// #18 item 5: a store's packages load only when its URL scheme asks for
// them, as optional peers, with the install command when one is missing.
// The CLI runs as a real process whose module resolution cannot find the
// hidden packages (test/fixtures/hide-packages.mjs), as for a user who
// installed @cloakroom/cli alone.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pkg from '../package.json';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const hide = fileURLToPath(new URL('./fixtures/hide-packages.mjs', import.meta.url));
const DRIVERS = '@cloakroom/store-redis,@cloakroom/store-postgres,ioredis,pg';

function runBin(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--import', hide, 'packages/cli/src/cli.ts', ...args],
      { cwd: root, timeout: 30_000, env: { ...process.env, CLOAKROOM_STORE_URL: '', ...env } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('stores are optional peers, loaded by URL scheme', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cloakroom-cli-peers-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the package depends on core and commander only; every store and driver is an optional peer', () => {
    expect(Object.keys(pkg.dependencies).sort()).toEqual(['@cloakroom/core', 'commander']);
    const peers = Object.keys(pkg.peerDependencies).sort();
    expect(peers).toEqual([
      '@cloakroom/store-fs',
      '@cloakroom/store-postgres',
      '@cloakroom/store-redis',
      'ioredis',
      'pg',
    ]);
    for (const name of peers) {
      expect(pkg.peerDependenciesMeta[name as keyof typeof pkg.peerDependenciesMeta]).toEqual({
        optional: true,
      });
    }
  });

  it('a file:// store works with no Redis or PostgreSQL package installed', async () => {
    const r = await runBin(['stats', '--json'], {
      CLOAKROOM_STORE_URL: pathToFileURL(dir).href,
      CLOAKROOM_TEST_HIDE: DRIVERS,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ store: 'fs', total: 0 });
  }, 40_000);

  it.each([
    ['redis://127.0.0.1:6379', 'redis stores need @cloakroom/store-redis and ioredis', 'ioredis'],
    [
      'postgres://postgres@127.0.0.1:5432/test',
      'postgres stores need @cloakroom/store-postgres and pg',
      'pg',
    ],
    ['file:///tmp', 'file stores need @cloakroom/store-fs', '@cloakroom/store-fs'],
  ])(
    '%s with its packages missing: exit 1 and the install command',
    async (url, message, hidden) => {
      const r = await runBin(['stats'], {
        CLOAKROOM_STORE_URL: url,
        CLOAKROOM_TEST_HIDE: `${DRIVERS},@cloakroom/store-fs`,
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error: ${message}`);
      expect(r.stderr).toMatch(/not installed: npm install --global /);
      expect(r.stderr).toContain(hidden);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    },
    40_000,
  );
});
