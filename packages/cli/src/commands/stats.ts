// `cloakroom stats`: records in the store, per storage key id, and (for
// stores without native expiry) how many are expired but not yet swept.
import type { SessionStore } from '@cloakroom/core';
import { census, keyRows } from '../census';
import type { CommandContext } from '../context';
import { table } from '../format';
import type { ExitCode } from '../io';

/** What `stats --json` prints. */
export interface StoreStats {
  readonly store: string;
  readonly nativeExpiry: boolean;
  /** Live records. */
  readonly total: number;
  /** Live records per storage key id (read from each sealed header, nothing decrypted). */
  readonly byKeyId: Readonly<Record<string, number>>;
  /** Live records whose header is not a sealed payload this version understands. */
  readonly malformed: number;
  /** Stores without native expiry: records past their expiry still on disk (run `sweep`). */
  readonly expiredNotSwept?: number;
}

/** Run `stats`. Needs the store only, no keys. */
export async function stats(ctx: CommandContext): Promise<ExitCode> {
  const conn = await ctx.connect();
  const probe = conn.sessionStore();
  const nativeExpiry = probe.capabilities.nativeExpiry;
  // A store that keeps expired records hides them from scan by its clock;
  // a second view whose clock stands at the epoch sees them, so both
  // counts come from one pass over the public scan.
  const store: SessionStore = nativeExpiry ? probe : conn.sessionStore(() => 1);
  const { total, byKeyId, malformed, expired } = await census(store, ctx.clock());

  const result: StoreStats = {
    store: probe.name,
    nativeExpiry,
    total,
    byKeyId: { ...byKeyId },
    malformed,
    ...(nativeExpiry ? {} : { expiredNotSwept: expired }),
  };
  if (ctx.json) {
    ctx.printJson(result);
    return 0;
  }
  ctx.print(`store: ${result.store}`);
  ctx.print(`sessions: ${total}`);
  const rows = keyRows(result.byKeyId);
  if (rows.length > 0) {
    ctx.print('per storage key:');
    for (const line of table(rows.map(([id, n]) => [`  ${id}`, String(n)]))) ctx.print(line);
  }
  if (malformed > 0) ctx.print(`malformed: ${malformed}`);
  if (!nativeExpiry)
    ctx.print(`expired, not yet swept: ${expired}${expired > 0 ? ' (run `cloakroom sweep`)' : ''}`);
  return 0;
}
