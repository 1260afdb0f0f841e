// #18: an interrupted rewrap must never print a report that reads as
// complete, and the resume command it prints must work when pasted. Run as
// the real `cloakroom` process against a file store, interrupted twice:
// by Ctrl-C typed into a real pseudo-terminal (python3's pty module), and
// by SIGINT with stdout and stderr on pipes (as under a log collector).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createCloakroom, generateSecret, rotatingKeys } from '@cloakroom/core';
import { createFsKeySetStore, createFsStore } from '@cloakroom/store-fs';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, resumeArgv } from '../run-helper';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const ptyRun = fileURLToPath(new URL('./pty-run.py', import.meta.url));
// The bin as an operator runs it (through tsx: the built dist may be stale).
const BIN = [process.execPath, '--import', 'tsx', 'packages/cli/src/cli.ts'];
const RECORDS = 400;
const BATCH = '2';

describe('cloakroom rewrap interrupted (real process)', () => {
  const dirs: string[] = [];
  const master = Buffer.from(generateSecret()).toString('base64url');
  let env: Record<string, string>;
  let oldKey: string;
  let newKey: string;

  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  // A store whose RECORDS sessions are all under the old storage key, with a
  // new primary key in place: the state right before an operator's rewrap.
  beforeEach(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cloakroom-cli-interrupt-'));
    dirs.push(dir);
    env = { CLOAKROOM_STORE_URL: pathToFileURL(dir).href, CLOAKROOM_MASTER_KEY: master };
    // Keys made ten minutes ago, so a storage key rotated then is primary now.
    const past = () => Date.now() - 10 * 60_000;
    expect((await cli(['keys', 'init'], env, { clock: past })).code).toBe(0);
    const app = createCloakroom({
      store: createFsStore({ dir }),
      keys: rotatingKeys({ store: createFsKeySetStore({ dir }), masterKey: master }),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
    });
    for (let i = 0; i < RECORDS; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => app.create(`user-${i + j}`)));
    }
    await app.close();
    const before = await cli(['stats', '--json'], env);
    oldKey = Object.keys(before.json<{ byKeyId: object }>().byKeyId)[0] as string;
    const rotated = await cli(['keys', 'rotate', 'storage', '--json'], env, { clock: past });
    newKey = rotated.json<{ rotated: { id: string }[] }>().rotated[0]?.id as string;
  }, 120_000);

  /** The interrupted run's report, as it must read wherever it was printed. */
  function expectHonestReport(text: string): string[] {
    const scanned = Number(/this run: scanned (\d+):/.exec(text)?.[1]);
    expect(scanned).toBeGreaterThan(0);
    expect(scanned).toBeLessThan(RECORDS);
    expect(text).toContain(
      `rewrap INTERRUPTED, not complete: about ${RECORDS - scanned} of ${RECORDS} records not yet scanned`,
    );
    // The per-key table is the whole store, so the old key's remainder shows.
    expect(text).toContain(`records per storage key in the whole store now, ${RECORDS} in all`);
    const oldCount = Number(new RegExp(`^  ${oldKey}\\s+(\\d+)$`, 'm').exec(text)?.[1]);
    const newCount = Number(new RegExp(`^  ${newKey}\\s+(\\d+)\\s+primary$`, 'm').exec(text)?.[1]);
    expect(oldCount).toBeGreaterThan(0);
    expect(oldCount + newCount).toBe(RECORDS);
    expect(text).toContain('older storage keys still hold records: do not disable them yet');
    expect(text).not.toContain('can be disabled');
    const argv = resumeArgv(text);
    expect(argv?.slice(0, 3)).toEqual(['rewrap', '--batch-size', BATCH]);
    return argv as string[];
  }

  /** Paste the resume command: it must finish the job. */
  async function resumeAndCheck(argv: readonly string[]): Promise<void> {
    const { stdout } = await exec(BIN[0] as string, [...BIN.slice(1), ...argv], {
      cwd: root,
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/^rewrap resumed from a cursor: complete now/m);
    expect(stdout).toContain(
      'only the primary storage key holds records: older storage keys can be disabled',
    );
    const stats = await cli(['stats', '--json'], env);
    expect(stats.json<{ byKeyId: object }>().byKeyId).toEqual({ [newKey]: RECORDS });
  }

  it('Ctrl-C in a terminal: the bar had a total, elapsed and ETA; the report says what is left; the printed command resumes', async () => {
    const { stdout } = await exec(
      'python3',
      [ptyRun, 'rewrapped ', '100', '60', '--', ...BIN, 'rewrap', '--batch-size', BATCH],
      { cwd: root, env: { ...process.env, ...env }, timeout: 70_000 },
    );
    const run = JSON.parse(stdout) as { code: number; sent: boolean; output: string };
    expect(run.sent).toBe(true);
    const text = run.output.replaceAll('\r\n', '\n');
    expect(run.code, text).toBe(130);
    // Counted before the bar; the bar redrawn in place with its total, elapsed and ETA.
    expect(text).toMatch(/counting records: \d+/);
    expect(text).toMatch(
      new RegExp(
        `\\r\\x1b\\[K\\[[#-]+\\]\\s+\\d+%\\s+\\d+/${RECORDS}\\s+rewrapped \\d+\\s+elapsed \\d+:\\d\\d\\s+ETA \\d+:\\d\\d`,
      ),
    );
    expect(text).toContain('stopping after the current batch');
    await resumeAndCheck(expectHonestReport(text));
  }, 120_000);

  it('SIGINT with output to pipes: stdout alone reads as interrupted, with the whole store counted; the printed command resumes', async () => {
    const child = spawn(BIN[0] as string, [...BIN.slice(1), 'rewrap', '--batch-size', BATCH], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let signalled = false;
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (!signalled && err.includes('rewrap: scanned')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    expect(signalled).toBe(true);
    expect(code, err).toBe(130);
    // Not a terminal: a total line, then one line per batch with elapsed and ETA.
    expect(err).toContain(`rewrap: ${RECORDS} records to scan`);
    expect(err).toMatch(
      new RegExp(`rewrap: scanned \\d+/${RECORDS}, .*elapsed \\d+:\\d\\d, ETA \\d+:\\d\\d`),
    );
    const argv = expectHonestReport(out);
    // stderr carries the same command, for whoever watches only stderr.
    expect(resumeArgv(err)).toEqual(argv);
    await resumeAndCheck(argv);
  }, 120_000);
});
