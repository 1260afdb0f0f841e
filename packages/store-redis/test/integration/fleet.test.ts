// SEC-32 across OS processes: instance A revokes, instance B (a forked
// process with a near cache over store.watch) resolves the same sessions
// under load. B must answer null within 5 ms of A's revoke returning, p99,
// and never answer a revoked session after that bound, also when its
// channel connection is killed mid-run. Bounded here (10,000 revokes);
// test/bench/fleet-revoke.ts runs 100,000. The child imports the built
// @cloakroom/core (dist), like an application: build core first.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFleet } from './fleet/driver';
import { freePort, type RedisServer, startRedisServer, tempDir } from './redis-servers';

let server: RedisServer | undefined;
let url: string;
const dir = tempDir('fleet');

beforeAll(async () => {
  const port = await freePort();
  server = await startRedisServer(port, dir.dir);
  url = `redis://127.0.0.1:${port}`;
});
afterAll(async () => {
  await server?.kill();
  dir.remove();
});

describe('fleet: a revoke on A reaches B (two processes, SEC-32)', () => {
  it('SEC-32: 10,000 revokes under load, B never answers a revoked session past the channel bound (p99 reported against the 5 ms target), the channel connection killed twice mid-run', async () => {
    const result = await runFleet({
      url,
      mode: 'channel',
      revokes: 10_000,
      batch: 250,
      concurrency: 4,
      loops: 16,
      targetMs: 5,
      killRounds: [10, 30],
    });
    console.log(`fleet: ${JSON.stringify(result)}`);
    // The contract: never a live answer past the channel's documented bound.
    // The 5 ms p99 target is a timing figure (reported, not asserted: this
    // machine is shared); test/bench/fleet-revoke.ts measures it.
    expect(result.staleAfterChannelBound).toBe(0);
    expect(result.notRevoked).toBe(0);
    // B looked at every revoked session after its revoke returned, or the check proves nothing.
    expect(result.notLookedAt).toBe(0);
    // The cache was in use: a good share of the answers came from it (the
    // rest are revoked sessions, read from Redis, and answers while the
    // channel was not live).
    expect(result.hits).toBeGreaterThan(result.resolves / 5);
  }, 120_000);

  it('SEC-32: through core (createCloakroom nearCache on B, revoke on A): 1,000 revokes, none answered past the channel bound, the channel connection killed mid-run', async () => {
    const result = await runFleet({
      url,
      mode: 'core',
      revokes: 1_000,
      batch: 250,
      concurrency: 4,
      loops: 16,
      targetMs: 5,
      killRounds: [2],
    });
    console.log(`fleet (core): ${JSON.stringify(result)}`);
    expect(result.staleAfterChannelBound).toBe(0);
    expect(result.notRevoked).toBe(0);
    expect(result.notLookedAt).toBe(0);
    // Core's cache answered a share of the resolves.
    expect(result.hits).toBeGreaterThan(result.resolves / 10);
  }, 120_000);
});
