// One target per first-party store: Cloakroom over the store, the floor and
// the peer over the same backend and client.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionStore } from '@cloakroom/core';
import { createFsStore } from '@cloakroom/store-fs';
import { createMemoryStore } from '@cloakroom/store-memory';
import { createPostgresStore, migrate } from '@cloakroom/store-postgres';
import { createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createClient } from 'redis';
import type { BenchConfig, StoreName } from './config';
import type { SessionOps } from './contender';
import { CLAIMS, type Fixture, cloakroomOver } from './fixture';
import { type FloorBackend, memoryFloor } from './floor-backend';
import { fsFloor } from './floor-fs';
import { postgresFloor } from './floor-postgres';
import { redisFloor } from './floor-redis';
import { floorOps } from './floor';
import { cloakroomOps } from './ours';
import { type ExpressStore, expressSession, peerOps, require } from './peer';

export interface Target {
  readonly store: StoreName;
  readonly ours: SessionOps;
  readonly floor: SessionOps;
  readonly peer: SessionOps;
  /** Bytes of one sealed Cloakroom payload (the floor and the peer match it). */
  readonly sealedSize: number;
  /** Client settings worth reporting next to the figures. */
  readonly settings: string;
  close(): Promise<void>;
}

interface Parts {
  store: SessionStore;
  floor: FloorBackend;
  peer: ExpressStore;
  settings: string;
  closePeer(): Promise<void>;
  cleanup(): Promise<void>;
}

/** A unique name for this run's keys, schema and directories. */
export const RUN_ID = `${process.pid}_${randomBytes(4).toString('hex')}`;

/** Deletes every Redis key under `prefix` (SCAN + UNLINK, in batches). */
export async function deletePrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length > 0) removed += await client.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

export function redisClient(config: BenchConfig): Redis {
  return new Redis(config.redisUrl, {
    enableAutoPipelining: config.autoPipelining,
    maxRetriesPerRequest: 1,
  });
}

async function parts(name: StoreName, config: BenchConfig): Promise<Parts> {
  switch (name) {
    case 'memory': {
      const peer = new expressSession.MemoryStore();
      return {
        store: createMemoryStore({ maxSessions: 5_000_000 }),
        floor: memoryFloor(),
        peer,
        settings: 'in process',
        closePeer: async () => {},
        cleanup: async () => {},
      };
    }
    case 'fs': {
      const dir = await mkdtemp(join(tmpdir(), 'cloakroom-bench-'));
      const FileStore = require('session-file-store')(expressSession) as new (
        o: object,
      ) => ExpressStore;
      return {
        store: createFsStore({ dir: join(dir, 'store') }),
        floor: fsFloor(join(dir, 'floor'), true),
        peer: new FileStore({ path: join(dir, 'peer'), reapInterval: -1, logFn: () => {} }),
        settings: `${dir} (durability fsync for all three; session-file-store fsyncs via write-file-atomic)`,
        closePeer: async () => {},
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    }
    case 'redis': {
      const client = redisClient(config);
      const prefix = `cloakroom-bench:${RUN_ID}:`;
      const nodeRedis = createClient({ url: config.redisUrl });
      nodeRedis.on('error', () => {});
      await nodeRedis.connect();
      const { RedisStore } = (await import('connect-redis')) as unknown as {
        RedisStore: new (o: object) => ExpressStore;
      };
      return {
        store: createRedisStore({ client, prefix }),
        floor: redisFloor(client, prefix),
        peer: new RedisStore({ client: nodeRedis, prefix: `${prefix}peer:` }),
        settings: `ioredis enableAutoPipelining=${config.autoPipelining}; connect-redis over node-redis 5`,
        closePeer: async () => {
          nodeRedis.destroy();
        },
        cleanup: async () => {
          await deletePrefix(client, prefix);
          client.disconnect();
        },
      };
    }
    case 'postgres': {
      const pool = new pg.Pool({ connectionString: config.postgresUrl, max: 16 });
      pool.on('error', () => {});
      const schema = `cloakroom_bench_${RUN_ID}`;
      await migrate(pool, { schema });
      await migrate(pool, { schema, table: 'floor_sessions' });
      const PgStore = require('connect-pg-simple')(expressSession) as new (
        o: object,
      ) => ExpressStore & { close(): Promise<void> };
      const peer = new PgStore({
        pool,
        schemaName: schema,
        tableName: 'session',
        createTableIfMissing: true,
        pruneSessionInterval: false,
      });
      return {
        store: createPostgresStore({ pool, schema }),
        floor: postgresFloor(pool, `"${schema}"."floor_sessions"`),
        peer,
        settings: 'pg Pool max 16 shared by all three',
        closePeer: () => peer.close(),
        cleanup: async () => {
          await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
          await pool.end();
        },
      };
    }
  }
}

/** Builds the three contenders for one store and measures the sealed payload size. */
export async function openTarget(
  name: StoreName,
  fixture: Fixture,
  config: BenchConfig,
): Promise<Target> {
  const p = await parts(name, config);
  const cloakroom = cloakroomOver(fixture, p.store, { ticketBound: config.ticketBound });
  const sample = await cloakroom.create('size-probe', { ...CLAIMS });
  const record = await p.store.get(sample.sessionId);
  if (record === null) throw new Error(`${name}: the size probe session is missing`);
  const sealedSize = record.payload.byteLength;
  await cloakroom.revoke(sample.ticket);
  const ours = cloakroomOps(cloakroom);
  const floor = floorOps(fixture, p.floor, sealedSize);
  const peer = peerOps(p.peer, sealedSize, p.closePeer);
  return {
    store: name,
    ours,
    floor,
    peer,
    sealedSize,
    settings: p.settings,
    async close() {
      await ours.close();
      await floor.close();
      await peer.close();
      await p.cleanup();
    },
  };
}
