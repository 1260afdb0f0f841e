// The machine and servers a run measured, for the JSON and the docs.
import { cpus, freemem, totalmem } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { BenchConfig } from './config';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly freeGiB: number;
  readonly node: string;
  readonly redis: string;
  readonly postgres: string;
  readonly loadAverage: number[];
}

export async function machine(config: BenchConfig): Promise<Machine> {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  let redisVersion = 'unreachable';
  try {
    await redis.connect();
    const info = await redis.info('server');
    redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
  const client = new pg.Client({ connectionString: config.postgresUrl });
  await client.connect();
  let postgresVersion = 'unknown';
  try {
    postgresVersion =
      (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]
        ?.v ?? 'unknown';
  } finally {
    await client.end();
  }
  const { loadavg } = await import('node:os');
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: redisVersion,
    postgres: postgresVersion,
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
