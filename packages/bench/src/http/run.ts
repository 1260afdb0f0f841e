// The HTTP comparison: every contender's server in its own pinned child
// process, one load generator process driving each in turn over keep-alive
// connections, alternating rounds, median of per-round ratios to the ceiling.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname, resolve } from 'node:path';
import { median } from '../measure';
import { type Child, type Pinning, pinning, spawnChild } from './child';
import type { HttpConfig } from './config';
import { type ContenderName, ceilingOf } from './contenders';
import type { LoadReply, LoadRequest, ServerReply, ServerRequest, Visit } from './protocol';
import { type HttpRow, httpMarkdown } from './report';

const REPO_ROOT = resolve(import.meta.dirname, '../../../..');

type ServerChild = Child<ServerRequest, ServerReply>;
type LoadChild = Child<LoadRequest, LoadReply>;

interface Running {
  readonly name: ContenderName;
  readonly child: ServerChild;
  readonly port: number;
  readonly visits: readonly Visit[];
}

/** One measured window of one contender. */
export interface HttpSample {
  readonly rps: number;
  readonly cpuUsPerRequest: number;
  readonly gcUsPerRequest: number;
  /** Server CPU µs per request spent off the main thread (V8 background GC and compilers, libuv pool). */
  readonly offMainCpuUsPerRequest: number;
  /** Requests the server handled per event-loop iteration: how much its per-iteration cost is shared. */
  readonly requestsPerLoop: number;
  /** Voluntary context switches of the server per request: how often it went idle and had to be woken. */
  readonly sleepsPerRequest: number;
  /** Involuntary context switches of the server per request: preemption by other load (noise). */
  readonly preemptionsPerRequest: number;
  /** Times the load generator slept per answer: how often an answer had to wake it. */
  readonly loadSleepsPerRequest: number;
  /** Minor page faults of the server per request (fresh memory touched). */
  readonly faultsPerRequest: number;
  /** Server CPU time over wall time in the window: near 1 when the server is the bottleneck. */
  readonly serverCpuShare: number;
  /** Event-loop utilisation of the server in the window (active / wall). */
  readonly serverElu: number;
  /** The load generator's CPU µs per answer: it must stay well under the server's. */
  readonly loadCpuUsPerRequest: number;
  readonly requests: number;
}

export interface HttpResult {
  readonly settings: Omit<HttpConfig, 'out'> & { readonly pinning: string };
  readonly loadAverageBefore: number[];
  readonly loadAverageAfter: number[];
  readonly rows: readonly HttpRow[];
  readonly samples: Record<string, HttpSample[]>;
}

async function startServer(
  name: ContenderName,
  config: HttpConfig,
  pins: Pinning,
): Promise<Running> {
  // Started unpinned, so the servers' startup (module loading, session
  // creation) uses every CPU; pinned, every thread, once ready.
  const child = spawnChild<ServerRequest, ServerReply>('server.ts', [name], {
    env: {
      ...(config.profileDir === undefined
        ? {}
        : { CLOAKROOM_HTTP_PROFILE: resolve(config.profileDir, `${name}.cpuprofile`) }),
      CLOAKROOM_HTTP_SESSIONS: String(config.sessions),
      CLOAKROOM_TEST_REDIS_URL: config.redisUrl,
      CLOAKROOM_BENCH_AUTOPIPELINING: config.autoPipelining ? '1' : '0',
    },
  });
  const first = await child.first;
  if (first.type !== 'ready') {
    child.kill();
    throw new Error(`${name}: ${first.type === 'failed' ? first.message : first.type}`);
  }
  if (pins.server !== undefined) {
    try {
      child.pin(pins.server);
    } catch (error) {
      child.kill();
      throw error;
    }
  }
  return { name, child, port: first.port, visits: first.visits };
}

async function serverSnap(server: Running) {
  const snap = await server.child.request({ type: 'snap' });
  if (snap.type !== 'snap') throw new Error(`${server.name}: no snapshot`);
  return snap;
}

async function loadSnap(load: LoadChild, type: 'snap' | 'halt') {
  const snap = await load.request({ type });
  if (snap.type !== 'snap' && snap.type !== 'halted') throw new Error('load generator: no counts');
  return snap;
}

async function measureOne(
  server: Running,
  load: LoadChild,
  config: HttpConfig,
): Promise<HttpSample> {
  await load.request({
    type: 'start',
    port: server.port,
    connections: config.connections,
    visits: server.visits,
  });
  await sleep(config.warmupMs);
  const [s0, l0] = await Promise.all([serverSnap(server), loadSnap(load, 'snap')]);
  await sleep(config.durationMs);
  const [s1, l1] = await Promise.all([serverSnap(server), loadSnap(load, 'snap')]);
  const end = await loadSnap(load, 'halt');
  if (end.errors > 0 || end.ok === 0) {
    throw new Error(
      `${server.name}: ${end.errors} bad answers of ${end.ok + end.errors} (first: ${end.firstError ?? 'none answered'})`,
    );
  }
  const requests = s1.requests - s0.requests;
  const wallUs = (l1.at - l0.at) * 1000;
  return {
    offMainCpuUsPerRequest:
      (s1.cpuUs - s0.cpuUs - (s1.mainThreadCpuUs - s0.mainThreadCpuUs)) / requests,
    requestsPerLoop: requests / (s1.loops - s0.loops),
    sleepsPerRequest: (s1.sleeps - s0.sleeps) / requests,
    preemptionsPerRequest: (s1.preemptions - s0.preemptions) / requests,
    faultsPerRequest: (s1.minorFaults - s0.minorFaults) / requests,
    loadSleepsPerRequest: l1.ok > l0.ok ? (l1.sleeps - l0.sleeps) / (l1.ok - l0.ok) : Number.NaN,
    serverCpuShare: (s1.cpuUs - s0.cpuUs) / wallUs,
    serverElu: (s1.activeUs - s0.activeUs) / wallUs,
    rps: ((l1.ok - l0.ok) * 1000) / (l1.at - l0.at),
    cpuUsPerRequest: requests > 0 ? (s1.cpuUs - s0.cpuUs) / requests : Number.NaN,
    gcUsPerRequest: requests > 0 ? (s1.gcUs - s0.gcUs) / requests : Number.NaN,
    loadCpuUsPerRequest: l1.ok > l0.ok ? (l1.cpuUs - l0.cpuUs) / (l1.ok - l0.ok) : Number.NaN,
    requests,
  };
}

function rowsOf(
  contenders: readonly ContenderName[],
  samples: Record<string, HttpSample[]>,
  rounds: number,
): HttpRow[] {
  return contenders.map((name) => {
    const mine = samples[name] ?? [];
    const ceiling = samples[ceilingOf(name)];
    const perRound = (f: (s: HttpSample, c: HttpSample) => number) =>
      ceiling === undefined
        ? Number.NaN
        : median(
            Array.from({ length: rounds }, (_, r) => {
              const s = mine[r];
              const c = ceiling[r];
              return s === undefined || c === undefined ? Number.NaN : f(s, c);
            }).filter(Number.isFinite),
          );
    const rps = mine.map((s) => s.rps);
    return {
      name,
      rps: median(rps),
      rpsMin: Math.min(...rps),
      rpsMax: Math.max(...rps),
      vsCeiling: perRound((s, c) => s.rps / c.rps),
      cpuUsPerRequest: median(mine.map((s) => s.cpuUsPerRequest)),
      overCeilingUs: perRound((s, c) => s.cpuUsPerRequest - c.cpuUsPerRequest),
      gcUsPerRequest: median(mine.map((s) => s.gcUsPerRequest)),
      offMainCpuUsPerRequest: median(mine.map((s) => s.offMainCpuUsPerRequest)),
      requestsPerLoop: median(mine.map((s) => s.requestsPerLoop)),
      sleepsPerRequest: median(mine.map((s) => s.sleepsPerRequest)),
      preemptionsPerRequest: median(mine.map((s) => s.preemptionsPerRequest)),
      serverCpuShare: median(mine.map((s) => s.serverCpuShare)),
      loadCpuUsPerRequest: median(mine.map((s) => s.loadCpuUsPerRequest)),
    };
  });
}

/**
 * Runs the HTTP comparison, prints its table on stdout, writes its JSON
 * (config.out) and returns it. Any wrong answer (not 200, wrong subject,
 * socket error) fails the run.
 */
export async function runHttpComparison(
  config: HttpConfig,
  log: (line: string) => void,
): Promise<HttpResult> {
  const pins = pinning(config.pin);
  const loadAverageBefore = loadavg();
  log(
    `http: ${config.contenders.length} servers, ${config.sessions} sessions each, ${config.connections} connections; ${pins.note}`,
  );
  const load = spawnChild<LoadRequest, LoadReply>('loadgen.ts', [], {
    ...(pins.load === undefined ? {} : { cpu: pins.load }),
  });
  const servers: Running[] = [];
  try {
    await load.first;
    if (config.profileDir !== undefined) await mkdir(config.profileDir, { recursive: true });
    // Started together (their startup is mostly module loading and session
    // creation); a failure stops the run after every started one is known.
    const started = await Promise.allSettled(
      config.contenders.map((name) => startServer(name, config, pins)),
    );
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
    // Servers in the configured order, whatever order they became ready in.
    servers.sort((a, b) => config.contenders.indexOf(a.name) - config.contenders.indexOf(b.name));
    const samples: Record<string, HttpSample[]> = {};
    const warmups = config.quick ? 0 : 1;
    for (let round = -warmups; round < config.rounds; round++) {
      // Rotate the order each round so no contender always runs first or last.
      const shift = ((round % servers.length) + servers.length) % servers.length;
      const order = [...servers.slice(shift), ...servers.slice(0, shift)];
      for (const server of order) {
        const sample = await measureOne(server, load, config);
        if (round >= 0) samples[server.name] = [...(samples[server.name] ?? []), sample];
        log(
          `  ${round < 0 ? 'warm-up' : `round ${round + 1}/${config.rounds}`} ${server.name}: ${Math.round(sample.rps)} req/s, ${sample.cpuUsPerRequest.toFixed(1)} CPU µs/req (off main thread ${sample.offMainCpuUsPerRequest.toFixed(1)}; GC pauses ${sample.gcUsPerRequest.toFixed(1)}; load generator ${sample.loadCpuUsPerRequest.toFixed(1)} µs and ${sample.loadSleepsPerRequest.toFixed(2)} sleeps/req; ${sample.requestsPerLoop.toFixed(2)} req/loop; ${sample.sleepsPerRequest.toFixed(2)} sleeps/req, ${sample.preemptionsPerRequest.toFixed(2)} preempted/req, ${sample.faultsPerRequest.toFixed(3)} page faults/req; server CPU ${(sample.serverCpuShare * 100).toFixed(0)}%, ELU ${(sample.serverElu * 100).toFixed(0)}%)`,
        );
      }
    }
    const rows = rowsOf(config.contenders, samples, config.rounds);
    const { out, ...settings } = config;
    const result: HttpResult = {
      settings: { ...settings, pinning: pins.note },
      loadAverageBefore,
      loadAverageAfter: loadavg(),
      rows,
      samples,
    };
    const path = resolve(REPO_ROOT, out);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(
      path,
      `${JSON.stringify({ at: new Date().toISOString(), node: process.version, ...result }, null, 2)}\n`,
    );
    process.stdout.write(
      `\nHTTP comparison (${pins.note}):\n${httpMarkdown(rows)}\n\nWrote ${path}\n`,
    );
    return result;
  } finally {
    await Promise.allSettled(
      servers.map(async (s) => {
        const exited = new Promise((done) => s.child.process.once('exit', done));
        await s.child.request({ type: 'stop' }).catch(() => {});
        await Promise.race([exited, sleep(5000)]);
        s.child.kill();
      }),
    );
    load.kill();
  }
}
