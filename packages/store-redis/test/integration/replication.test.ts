// The replication guarantee against a real master and replica on loopback:
// a stalled replica (SIGSTOP, link dropped by the master) makes guarded revocations fail instead of
// being acknowledged, and after the master is killed and the replica
// promoted, every write acknowledged under the guarantee is there, while
// revocations acknowledged without it are lost (the revoked sessions are back).
import { StoreUnavailable } from '@cloakroom/core';
import { createRedisKeySetStore, createRedisStore, RedisGaveUp } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type RedisServer, startRedisServer, tempDir, waitFor } from './redis-servers';
import { makeRecord, uniquePrefix } from './redis-test-env';

const WAIT_MS = 300;

let master: RedisServer | undefined;
let replica: RedisServer | undefined;
let stalled = false;
const dir = tempDir('replication');
const clients: Redis[] = [];

function clientOf(port: number, autoPipelining = true): Redis {
  const client = new Redis({ host: '127.0.0.1', port, enableAutoPipelining: autoPipelining });
  client.on('error', () => {}); // the test kills the master on purpose
  clients.push(client);
  return client;
}

beforeAll(async () => {
  const masterPort = await freePort();
  master = await startRedisServer(masterPort, dir.dir);
  const replicaPort = await freePort();
  replica = await startRedisServer(replicaPort, dir.dir, [
    '--replicaof',
    '127.0.0.1',
    String(masterPort),
    '--dbfilename',
    `replica-${replicaPort}.rdb`,
  ]);
  const admin = clientOf(masterPort, false);
  await waitFor('the replica to be in sync', async () =>
    /connected_slaves:1[\s\S]*state=online/.test(await admin.info('replication')),
  );
});
afterAll(async () => {
  if (stalled && replica) process.kill(replica.pid, 'SIGCONT');
  for (const client of clients) client.disconnect();
  await master?.kill();
  await replica?.kill();
  dir.remove();
});

function reasonOf(err: unknown): string | undefined {
  return err instanceof StoreUnavailable && err.cause instanceof RedisGaveUp
    ? err.cause.reason
    : undefined;
}

describe('replication guarantee (WAIT), master + replica on loopback', () => {
  it('insertWithLimit on a master with a replica: an eviction is a revocation (WAITed for, gone on the replica when it answers); a bare insert is a write', async () => {
    const m = master as RedisServer;
    const r = replica as RedisServer;
    const prefix = uniquePrefix('replication-limit');
    const client = clientOf(m.port);
    const admin = clientOf(m.port, false);
    const onReplica = clientOf(r.port, false);
    const store = createRedisStore({
      client,
      prefix,
      commandTimeoutMs: 2_000,
      replication: { replicas: 1, timeoutMs: WAIT_MS },
    });
    const limited = store.insertWithLimit;
    if (limited === undefined) throw new Error('insertWithLimit missing on a standalone store');
    const waits = async () =>
      Number(/cmdstat_wait:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const a = makeRecord();
    const b = makeRecord({ subject: a.subject });
    const before = await waits();
    expect(await limited(a, { max: 1, evict: 'oldest' })).toEqual({ inserted: true, evicted: [] });
    expect(await waits()).toBe(before);
    expect(await limited(b, { max: 1, evict: 'oldest' })).toEqual({
      inserted: true,
      evicted: [a.id],
    });
    expect(await waits()).toBeGreaterThan(before);
    const keys = await client.keys(`${prefix}*:s:*`);
    expect(keys.some((k) => k.endsWith(a.id))).toBe(false);
    expect(await onReplica.exists(...keys)).toBe(1);
    expect((await onReplica.keys(`${prefix}*:s:*`)).some((k) => k.endsWith(a.id))).toBe(false);
    await store.close();
  });

  it('concurrent guarded revocations share WAITs (one in flight per connection), each is acknowledged only by a WAIT sent after its write, and key-set writes are always covered', async () => {
    const m = master as RedisServer;
    const r = replica as RedisServer;
    const prefix = uniquePrefix('replication-batch');
    const client = clientOf(m.port);
    const admin = clientOf(m.port, false);
    const store = createRedisStore({
      client,
      prefix,
      commandTimeoutMs: 2_000,
      replication: { replicas: 1, timeoutMs: WAIT_MS },
    });
    const keySets = createRedisKeySetStore({
      client,
      prefix,
      replication: { replicas: 1, timeoutMs: WAIT_MS, writes: 'revocations' },
    });
    expect(await keySets.write('default', Uint8Array.of(1), null)).toBe(true);
    const sessions = Array.from({ length: 64 }, () => makeRecord());
    await Promise.all(sessions.map((s) => store.insert(s)));
    const waits = async () =>
      Number(/cmdstat_wait:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
    const before = await waits();
    expect(await Promise.all(sessions.map((s) => store.delete(s.id)))).toEqual(
      sessions.map(() => true),
    );
    const sent = (await waits()) - before;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(sessions.length);

    // Stalled and cut off: no revocation rides on an earlier acknowledgement.
    const more = Array.from({ length: 20 }, () => makeRecord());
    await Promise.all(more.map((s) => store.insert(s)));
    process.kill(r.pid, 'SIGSTOP');
    stalled = true;
    await admin.call('CLIENT', 'KILL', 'TYPE', 'replica');
    const results = await Promise.all(more.map((s) => store.delete(s.id).catch((e: unknown) => e)));
    expect(results.map(reasonOf)).toEqual(more.map(() => 'replication'));
    // Key-set writes are always covered (a lost one would take back a key rotation).
    expect(
      reasonOf(await keySets.write('default', Uint8Array.of(2), 1).catch((e: unknown) => e)),
    ).toBe('replication');
    process.kill(r.pid, 'SIGCONT');
    stalled = false;
    await waitFor('the replica to be back in sync', async () =>
      /connected_slaves:1[\s\S]*state=online/.test(await admin.info('replication')),
    );
  });

  it('SEC-07 revocations acknowledged under the guarantee survive a failover to a replica that was stalled; without it they are lost and revoked sessions come back', async () => {
    const m = master as RedisServer;
    const r = replica as RedisServer;
    const prefix = uniquePrefix('replication');
    const client = clientOf(m.port);
    const all = createRedisStore({
      client,
      prefix,
      commandTimeoutMs: 1_000,
      replication: { replicas: 1, timeoutMs: WAIT_MS, writes: 'all' },
    });
    const revocations = createRedisStore({
      client,
      prefix,
      commandTimeoutMs: 1_000,
      replication: { replicas: 1, timeoutMs: WAIT_MS },
    });
    const plain = createRedisStore({ client, prefix, commandTimeoutMs: 1_000 });

    // Replica live: every guarded write is acknowledged.
    const sessions = Array.from({ length: 30 }, () =>
      makeRecord({ expiresAt: Date.now() + 600_000 }),
    );
    for (const s of sessions) await all.insert(s);
    const revokedLive = sessions.slice(0, 10);
    for (const s of revokedLive) expect(await revocations.delete(s.id)).toBe(true);
    const rotated = sessions[29] as (typeof sessions)[number];
    const successor = makeRecord({ subject: rotated.subject, expiresAt: Date.now() + 600_000 });
    expect(
      await revocations.rotate(
        { record: { ...rotated, version: 2 }, expectedVersion: 1 },
        successor,
      ),
    ).toBe(true);

    // Replica stalled and cut off: SIGSTOP alone is not enough, the kernel
    // would still buffer the replication stream for it to read on resume,
    // so the master also drops the link (a partition, as seen from the master).
    process.kill(r.pid, 'SIGSTOP');
    stalled = true;
    await clientOf(m.port, false).call('CLIENT', 'KILL', 'TYPE', 'replica');
    // Replica stalled: a guarded revocation is not acknowledged, within the WAIT timeout.
    const refused = sessions[10] as (typeof sessions)[number];
    const started = performance.now();
    const err = await revocations.delete(refused.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - started;
    expect(reasonOf(err)).toBe('replication');
    expect(ms).toBeGreaterThanOrEqual(WAIT_MS - 5);
    expect(ms).toBeLessThan(WAIT_MS + 700);
    const extra = makeRecord();
    expect(reasonOf(await all.insert(extra).catch((e: unknown) => e))).toBe('replication');
    expect(
      reasonOf(
        await revocations.deleteBySubject(sessions[11]?.subject as string).catch((e: unknown) => e),
      ),
    ).toBe('replication');
    // The same revocations without the guarantee: acknowledged at once.
    const revokedPlain = sessions.slice(12, 22);
    for (const s of revokedPlain) expect(await plain.delete(s.id)).toBe(true);

    // Failover: the master dies, the replica (now running again) is promoted.
    await m.kill();
    master = undefined;
    process.kill(r.pid, 'SIGCONT');
    stalled = false;
    const promoted = clientOf(r.port, false);
    await promoted.call('REPLICAOF', 'NO', 'ONE');
    const after = createRedisStore({ client: promoted, prefix });

    // Every write acknowledged under the guarantee is there...
    for (const s of revokedLive) expect(await after.get(s.id)).toBeNull();
    for (const s of sessions.slice(22, 29)) expect(await after.get(s.id)).toEqual(s);
    expect(await after.get(rotated.id)).toEqual({ ...rotated, version: 2 });
    expect(await after.get(successor.id)).toEqual(successor);
    // (The refused writes ran on the master and may or may not have reached
    // the replica: the caller was told they are not acknowledged.)
    // ...and revocations acknowledged without the guarantee are lost: revoked sessions are back.
    const back = [];
    for (const s of revokedPlain) if ((await after.get(s.id)) !== null) back.push(s.id);
    expect(back.length).toBe(revokedPlain.length);
    await after.close();
  });
});
