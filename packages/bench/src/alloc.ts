// `pnpm --filter @cloakroom/bench alloc`: memory allocated per `resolve` and
// per `create` on the memory store, Cloakroom beside the floor, and where
// Cloakroom allocates it. Allocation matters beyond the collector's own
// time: on a shared store, per-request work costs more the more memory it
// brings into the cache (`amplify`), and fresh allocations are fresh lines.
//
// Totals: V8 heap bytes (`used_heap_size`) and ArrayBuffer bytes
// (`process.memoryUsage().arrayBuffers`) grown over a batch of calls that
// no garbage collection interrupted (a batch that saw one is measured again,
// smaller), median of seven batches. Sites: V8's sampling heap profiler
// through the inspector, with objects the collector has already freed
// included (short-lived garbage is most of it), self bytes per call by
// allocating function.
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { createMemoryStore } from '@cloakroom/store-memory';
import { CLAIMS, cloakroomOver, makeFixture } from './fixture';
import { floorOps } from './floor';
import { memoryFloor } from './floor-backend';
import { median } from './measure';
import { runMain } from './run-main';

const collect = (globalThis as { gc?: () => void }).gc;
let collections = 0;
new PerformanceObserver((list) => {
  collections += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });
const settle = () => new Promise((r) => setTimeout(r, 10));

/** Heap and ArrayBuffer bytes per call of `fn`, over batches no collection interrupted. */
async function bytesPerCall(
  fn: (i: number) => Promise<unknown>,
): Promise<{ heap: number; buffers: number }> {
  if (collect === undefined) throw new Error('alloc: run node with --expose-gc');
  for (let i = 0; i < 2000; i++) await fn(i);
  const heap: number[] = [];
  const buffers: number[] = [];
  let n = 1500;
  while (heap.length < 7) {
    collect();
    await settle();
    const seen = collections;
    const h = v8.getHeapStatistics().used_heap_size;
    const b = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < n; i++) await fn(i);
    const dh = v8.getHeapStatistics().used_heap_size - h;
    const db = process.memoryUsage().arrayBuffers - b;
    await settle();
    if (collections !== seen) {
      if (n < 50) throw new Error('alloc: every batch was interrupted by a collection');
      n = Math.floor(n * 0.7);
      continue;
    }
    heap.push(dh / n);
    buffers.push(db / n);
  }
  return { heap: median(heap), buffers: median(buffers) };
}

interface FrameNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: FrameNode[];
}

/** The functions that allocate the most per call of `fn`, with their caller. */
async function sites(fn: (i: number) => Promise<unknown>, calls: number, top: number) {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 64,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  for (let i = 0; i < calls; i++) await fn(i);
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as {
    profile: { head: FrameNode };
  };
  session.disconnect();
  const bytes = new Map<string, number>();
  const nameOf = (n: FrameNode) =>
    `${n.callFrame.functionName || '(anonymous)'} (${n.callFrame.url.split('/').slice(-2).join('/') || 'native'})`;
  const walk = (n: FrameNode, caller: string) => {
    const name = nameOf(n);
    if (n.selfSize > 0) {
      const key = `${name} ← ${caller}`;
      bytes.set(key, (bytes.get(key) ?? 0) + n.selfSize);
    }
    for (const child of n.children) walk(child, n.callFrame.functionName || '(anonymous)');
  };
  walk(profile.head, '');
  return [...bytes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([site, b]) => ({ site, bytes: b / calls }));
}

async function main(): Promise<void> {
  const fixture = await makeFixture();
  const store = createMemoryStore({ maxSessions: 1_000_000 });
  const cloakroom = cloakroomOver(fixture, store);
  const tickets: string[] = [];
  for (let i = 0; i < 200; i++)
    tickets.push((await cloakroom.create(`u-${i}`, { ...CLAIMS })).ticket);
  const first = await cloakroom.resolve(tickets[0] as string);
  const record = first === null ? null : await store.get(first.sessionId);
  if (record === null) throw new Error('alloc: the first session is missing');
  const floor = floorOps(fixture, memoryFloor(), record.payload.byteLength);
  const floorTickets: string[] = [];
  for (let i = 0; i < 200; i++) floorTickets.push(await floor.create(`u-${i}`));

  const cases: Array<[string, (i: number) => Promise<unknown>]> = [
    ['cloakroom resolve', (i) => cloakroom.resolve(tickets[i % 200] as string)],
    ['floor resolve', (i) => floor.resolve(floorTickets[i % 200] as string)],
    ['cloakroom create', (i) => cloakroom.create(`c-${i % 97}`, { ...CLAIMS })],
    ['floor create', (i) => floor.create(`c-${i % 97}`)],
  ];
  const lines = ['| memory store, per call | V8 heap bytes | ArrayBuffer bytes |', '|---|--:|--:|'];
  for (const [name, fn] of cases) {
    const b = await bytesPerCall(fn);
    lines.push(
      `| ${name} | ${Math.round(b.heap).toLocaleString('en-US')} | ${Math.round(b.buffers).toLocaleString('en-US')} |`,
    );
  }
  console.log(lines.join('\n'));
  for (const [name, fn, calls] of [
    ['resolve', cases[0]?.[1], 100_000],
    ['create', cases[2]?.[1], 20_000],
  ] as const) {
    if (fn === undefined) continue;
    console.log(
      `\nCloakroom ${name}: where it allocates (sampled, freed objects included; bytes per call)`,
    );
    for (const s of await sites(fn, calls, 14))
      console.log(`${s.bytes.toFixed(0).padStart(7)}  ${s.site}`);
  }
  await cloakroom.close();
}

runMain('alloc', main);
