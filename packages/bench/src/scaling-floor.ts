// The floor over a `Map` at the scaling case's sizes: what a larger working
// set costs on this machine when the code does nothing more (a reference
// for the memory store's 1M-vs-10k target, not a target itself).
import type { BenchConfig } from './config';
import type { Fixture } from './fixture';
import { floorOps } from './floor';
import { memoryFloor } from './floor-backend';
import { populate } from './populate';
import { type ResolveAtSize, alternateResolves } from './scaling-rounds';
import { TicketBook } from './ticket-book';

/**
 * The floor (floor.ts: SHA-256, a `Map` lookup, one AES-GCM open,
 * `JSON.parse`) at the same sizes, populated through its own `create` with
 * records of Cloakroom's sealed size and measured like Cloakroom: what a
 * larger working set costs on this machine when the code does nothing more.
 * Run after Cloakroom's stores are closed, so neither population's memory
 * is in the other's measurement.
 */
export async function floorScaling(
  fixture: Fixture,
  config: BenchConfig,
  sealedSize: number,
  log: (line: string) => void,
): Promise<ResolveAtSize[]> {
  const pools = config.scaleSizes.map((size) => ({
    size,
    ops: floorOps(fixture, memoryFloor(), sealedSize),
    tickets: new TicketBook(size),
    populateSeconds: 0,
  }));
  try {
    for (const pool of pools) {
      const t0 = performance.now();
      await populate((i) => pool.ops.create(`scale-${i % 50_000}`), pool.tickets, pool.size);
      pool.populateSeconds = (performance.now() - t0) / 1000;
      log(`  memory floor: ${pool.size} sessions made in ${pool.populateSeconds.toFixed(1)} s`);
    }
    return await alternateResolves(
      pools.map((pool) => ({
        contender: 'floor' as const,
        store: 'memory' as const,
        sessions: pool.size,
        tickets: 'packed' as const,
        book: pool.tickets,
        strings: [],
        populateSeconds: pool.populateSeconds,
        // The floor's resolve throws on a miss.
        resolve: async (ticket: string) => {
          await pool.ops.resolve(ticket);
          return true;
        },
      })),
      config,
      log,
    );
  } finally {
    for (const pool of pools) await pool.ops.close();
  }
}
