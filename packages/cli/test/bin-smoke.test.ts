// The bin entry as a real process: node runs src/cli.ts through tsx (the
// built dist may be stale locally), with the workspace's tsconfig paths.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function runBin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'packages/cli/src/cli.ts', ...args],
      { cwd: root, timeout: 30_000, env: { ...process.env, CLOAKROOM_STORE_URL: '' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('cloakroom bin (child process)', () => {
  it('--help exits 0 with the usage on stdout', async () => {
    const r = await runBin(['--help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: cloakroom <command>/);
  }, 40_000);

  it('a secret flag exits 2 through process.exitCode', async () => {
    const r = await runBin(['jwks', '--master-key=abcdefghijklmnop']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/shell history/);
    expect(r.stderr).not.toContain('abcdefghijklmnop');
  }, 40_000);
});
