// `tsx src/tracing.ts [--quick]` (or `tracingBench(quick)` from main.ts): what
// core's diagnostics_channel tracing costs `resolve` on the memory store.
//
// Three modes, one build (core's source, imported here directly), measured
// in alternating rounds so drift and neighbours' load hit each alike:
// - bypassed:     the operation called on a context whose store is the raw
//                 store: no manager branch, no store wrapper (what core
//                 would be without tracing);
// - unsubscribed: `createCloakroom(...).resolve`, nobody listening (the
//                 shipped default: one hasSubscribers test per call);
// - subscribed:   the same with a no-op subscriber on every channel.
// Reports the median CPU ns per resolve of each mode and the ratio
// unsubscribed / bypassed; the claim is that it stays within the noise
// (|ratio - 1| < 3%). `--quick` runs tiny counts, to prove the path works.
import * as dc from 'node:diagnostics_channel';
import { pathToFileURL } from 'node:url';
import { createMemoryStore } from '@cloakroom/store-memory';
import {
  KEY_SYNC_CHANNEL,
  SESSION_OPERATIONS,
  STORE_METHODS,
  allowAll,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  sessionChannelName,
  sessionIdOf,
  staticKeys,
  storeChannelName,
} from '../../core/src/index';
import { traceStore } from '../../core/src/diagnostics/trace-store';
import { createContext } from '../../core/src/session/context';
import { resolve as resolveOp } from '../../core/src/session/operations';

type Mode = 'bypassed' | 'unsubscribed' | 'subscribed';
const MODES: readonly Mode[] = ['bypassed', 'unsubscribed', 'subscribed'];

/**
 * Runs the comparison and prints it. Exported so `pnpm bench` (main.ts) can
 * call it; run directly, the file calls it itself.
 */
export async function tracingBench(quick: boolean): Promise<void> {
  const SESSIONS = quick ? 50 : 2_000;
  const OPS_PER_ROUND = quick ? 200 : 20_000;
  const ROUNDS = quick ? 2 : 15;
  const signing = await generateSigningKey('EdDSA');
  const store = createMemoryStore();
  const options = {
    store,
    keys: staticKeys({
      signing: [{ alg: 'EdDSA' as const, privateKey: signing.privateJwk }],
      storage: [{ key: generateSecret() }],
      index: generateSecret(),
    }),
    issuer: 'https://issuer.bench',
    audience: 'https://api.bench',
    policy: allowAll(),
  };
  const cloakroom = createCloakroom(options);
  // The bypass: core's own context, its store put back to the raw store.
  const ctx = createContext(options);
  (ctx as { store: unknown }).store = store;

  const tickets: string[] = [];
  for (let i = 0; i < SESSIONS; i++) {
    tickets.push((await cloakroom.create(`user-${i}`, { role: 'reader' })).ticket);
  }

  const handlers = {
    start() {},
    end() {},
    asyncStart() {},
    asyncEnd() {},
    error() {},
  };
  const names = [
    ...SESSION_OPERATIONS.map(sessionChannelName),
    ...STORE_METHODS.map(storeChannelName),
    KEY_SYNC_CHANNEL,
  ];
  const subscribe = (on: boolean) => {
    for (const name of names) {
      const tc = dc.tracingChannel(name);
      if (on) tc.subscribe(handlers);
      else tc.unsubscribe(handlers);
    }
  };

  const run = async (mode: Mode): Promise<number> => {
    if (mode === 'subscribed') subscribe(true);
    const cpu = process.cpuUsage();
    for (let i = 0; i < OPS_PER_ROUND; i++) {
      const ticket = tickets[i % SESSIONS];
      const session =
        mode === 'bypassed'
          ? await resolveOp(ctx, ticket, undefined)
          : await cloakroom.resolve(ticket);
      if (session === null) throw new Error('a bench session did not resolve');
    }
    const used = process.cpuUsage(cpu);
    if (mode === 'subscribed') subscribe(false);
    return ((used.user + used.system) * 1000) / OPS_PER_ROUND;
  };

  for (const mode of MODES) await run(mode); // warm-up
  const samples: Record<Mode, number[]> = { bypassed: [], unsubscribed: [], subscribed: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order each round so no mode always runs first.
    for (let k = 0; k < MODES.length; k++) {
      const mode = MODES[(round + k) % MODES.length] as Mode;
      samples[mode].push(await run(mode));
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)] as number;
  };
  const m = Object.fromEntries(MODES.map((mode) => [mode, median(samples[mode])])) as Record<
    Mode,
    number
  >;
  // Paired ratios (same round) are less exposed to drift than a ratio of medians.
  const paired = samples.unsubscribed.map((u, i) => u / (samples.bypassed[i] as number));
  const ratio = median(paired);
  const spread = [Math.min(...paired), Math.max(...paired)];
  console.log(
    `tracing: resolve on the memory store, ${SESSIONS} sessions, ${ROUNDS} rounds x ${OPS_PER_ROUND} ops (CPU ns/op, median)`,
  );
  for (const mode of MODES) console.log(`  ${mode.padEnd(13)} ${m[mode].toFixed(0)} ns`);
  console.log(
    `  unsubscribed / bypassed = ${ratio.toFixed(3)} (paired rounds, min ${spread[0]?.toFixed(3)}, max ${spread[1]?.toFixed(3)})`,
  );
  console.log(`  subscribed / unsubscribed = ${(m.subscribed / m.unsubscribed).toFixed(3)}`);

  // The wrapper alone, on the cheapest store call there is (a memory-store
  // get), where its few property reads are the largest share they can be.
  const wrapped = traceStore(store);
  const ids = tickets.map((t) => sessionIdOf(t));
  const GETS = quick ? 1_000 : 200_000;
  const gets = async (s: { get(id: string): Promise<unknown> }) => {
    const cpu = process.cpuUsage();
    for (let i = 0; i < GETS; i++) await s.get(ids[i % SESSIONS] as string);
    const used = process.cpuUsage(cpu);
    return ((used.user + used.system) * 1000) / GETS;
  };
  await gets(store);
  await gets(wrapped);
  const raw: number[] = [];
  const viaWrapper: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      raw.push(await gets(store));
      viaWrapper.push(await gets(wrapped));
    } else {
      viaWrapper.push(await gets(wrapped));
      raw.push(await gets(store));
    }
  }
  console.log(
    `  store.get: raw ${median(raw).toFixed(0)} ns, through the unsubscribed wrapper ${median(viaWrapper).toFixed(0)} ns (+${(median(viaWrapper) - median(raw)).toFixed(0)} ns)`,
  );
  await cloakroom.close();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await tracingBench(process.argv.includes('--quick') || process.env.CLOAKROOM_BENCH_QUICK === '1');
}
