// #18 item 4: `keys rotate` uses the application's rotation timings, given
// as flags, instead of core's defaults whatever the application configures
// (a new storage key used to be pending 60 s, a signing key 1 h, always).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateSecret } from '@cloakroom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../run-helper';

const MINUTE = 60_000;

describe('cloakroom keys rotate timing flags (file store)', () => {
  let dir: string;
  let env: Record<string, string>;
  const now = Date.UTC(2026, 11, 3, 12);
  const clock = () => now;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cloakroom-cli-timing-'));
    env = {
      CLOAKROOM_STORE_URL: pathToFileURL(dir).href,
      CLOAKROOM_MASTER_KEY: Buffer.from(generateSecret()).toString('base64url'),
    };
    expect((await cli(['keys', 'init'], env, { clock })).code).toBe(0);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('the new keys activate after the publish windows given, and the new signing key has --alg', async () => {
    const r = await cli(
      [
        'keys',
        'rotate',
        '--refresh-every',
        '1m',
        '--storage-publish-ahead',
        '10m',
        '--signing-publish-ahead',
        '3h',
        '--alg',
        'ES256',
        '--json',
      ],
      env,
      { clock },
    );
    expect(r.code, r.stderr).toBe(0);
    const { rotated } = r.json<{
      rotated: { kind: string; activatesAt: number; alg?: string }[];
    }>();
    expect(rotated).toEqual([
      expect.objectContaining({ kind: 'signing', alg: 'ES256', activatesAt: now + 180 * MINUTE }),
      expect.objectContaining({ kind: 'storage', activatesAt: now + 10 * MINUTE }),
    ]);
  });

  it("a window the application could not use is refused with core's reason", async () => {
    // storage.publishAhead must exceed refreshEvery, or instances could seal
    // under a key others cannot open yet.
    const r = await cli(
      ['keys', 'rotate', 'storage', '--refresh-every', '2m', '--storage-publish-ahead', '1m'],
      env,
      { clock },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: storage\.publishAhead must exceed refreshEvery/);
    const long = await cli(
      [
        'keys',
        'rotate',
        'signing',
        '--signing-rotate-every',
        '2h',
        '--signing-publish-ahead',
        '3h',
      ],
      env,
      { clock },
    );
    expect(long.code).toBe(1);
    expect(long.stderr).toMatch(
      /^error: signing\.publishAhead must be shorter than signing\.rotateEvery/,
    );
  });
});
