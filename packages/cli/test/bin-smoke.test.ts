// The bin entry as a real process: node runs src/cli.ts through tsx (the
// built dist may be stale locally), with the workspace's tsconfig paths.
import { execFile, spawn } from 'node:child_process';
import { type Server, type Socket, createServer } from 'node:net';
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

  it('Ctrl-C ends a command other than rewrap at once (exit 130), without promising a graceful stop', async () => {
    // A "Redis" on loopback that accepts connections and never answers: stats hangs on it.
    const sockets: Socket[] = [];
    const server: Server = createServer((socket) => {
      sockets.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'packages/cli/src/cli.ts', 'stats'],
        {
          cwd: root,
          env: { ...process.env, CLOAKROOM_STORE_URL: `redis://127.0.0.1:${port}` },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let err = '';
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString();
      });
      // Wait until the CLI is connected and waiting for an answer.
      const deadline = Date.now() + 20_000;
      while (sockets.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(sockets.length).toBeGreaterThan(0);
      const sentAt = Date.now();
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(130);
      expect(Date.now() - sentAt).toBeLessThan(2000);
      expect(err).not.toContain('stopping after the current batch');
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  }, 40_000);
});
