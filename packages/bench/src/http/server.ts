// A server child process: `node --import tsx server.ts <contender>`. Builds
// the contender's app and its sessions, listens on 127.0.0.1, answers
// snapshots of its own CPU time and request count over IPC, and exits on
// `stop`. With CLOAKROOM_HTTP_PROFILE=path it records a V8 CPU profile from
// the moment it is ready (so module loading and session creation stay out)
// to `stop`, and writes it there with the request count beside it.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { type AppSettings, type ServerApp, appSettings } from './app';
import { ceilingApp } from './app-ceiling';
import { cloakroomApp } from './app-cloakroom';
import { expressSessionApp } from './app-express-session';
import { ironApp } from './app-iron';
import { type ContenderName, contenderInfo, isContender } from './contenders';
import type { ServerReply, ServerRequest } from './protocol';

function build(name: ContenderName, settings: AppSettings): Promise<ServerApp> | ServerApp {
  const { framework } = contenderInfo(name);
  switch (name) {
    case 'ceiling-node':
    case 'ceiling-express':
      return ceilingApp(framework, settings.sessions);
    case 'cloakroom-memory-node':
    case 'cloakroom-memory-express':
      return cloakroomApp('memory', framework, settings);
    case 'cloakroom-memory-node-deferred':
      return cloakroomApp('memory', framework, settings, { deferAnswer: true });
    case 'cloakroom-redis-node':
    case 'cloakroom-redis-express':
      return cloakroomApp('redis', framework, settings);
    case 'express-session-redis':
      return expressSessionApp(settings);
    case 'iron-session-node':
      return ironApp(settings);
  }
}

/** libuv's loop count (Node >= 20.18); NaN where Node does not expose it. */
function loopCount(): number {
  const timing = performance.nodeTiming as { uvMetricsInfo?: { loopCount: number } };
  return timing.uvMetricsInfo?.loopCount ?? Number.NaN;
}

const TICK_US = 10_000; // USER_HZ is 100 on Linux

/** The main thread's user + system CPU time from /proc (10 ms resolution), µs; NaN where there is no /proc. */
function mainThreadCpuUs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1');
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_US;
  } catch {
    return Number.NaN;
  }
}

/** Starts the V8 profiler in this process if `path` is set; `finish` writes the profile. */
async function startProfile(path: string | undefined) {
  if (path === undefined) return { finish: async (_requests: number) => {} };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async finish(requests: number) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(path, JSON.stringify(profile));
      await writeFile(`${path}.json`, `${JSON.stringify({ requests })}\n`);
      session.disconnect();
    },
  };
}

const reply = (message: ServerReply, then?: () => void) => {
  process.send?.(message, undefined, {}, () => then?.());
};

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  if (!isContender(name)) throw new Error(`unknown contender "${name}"`);
  if (process.send === undefined) throw new Error('server.ts runs as a child with an IPC channel');
  // The orchestrator is gone: nothing will stop us otherwise.
  process.on('disconnect', () => process.exit(0));
  const app = await build(name, appSettings(process.env));
  let requests = 0;
  // GC time is reported with the CPU time: it explains CPU per request.
  let gcUs = 0;
  let gcs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcUs += entry.duration * 1000;
      gcs++;
    }
  }).observe({ entryTypes: ['gc'] });
  const server = createServer({ keepAliveTimeout: 60_000 }, app.listener);
  server.on('request', () => {
    requests++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const profiler = await startProfile(process.env.CLOAKROOM_HTTP_PROFILE);
  const requestsAtStart = requests;
  process.on('message', (message: ServerRequest) => {
    if (message.type === 'snap') {
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      const usage = process.resourceUsage();
      reply({
        type: 'snap',
        id: message.id,
        cpuUs: cpu.user + cpu.system,
        mainThreadCpuUs: mainThreadCpuUs(),
        requests,
        gcUs,
        gcs,
        loops: loopCount(),
        activeUs: elu.active * 1000,
        sleeps: usage.voluntaryContextSwitches,
        preemptions: usage.involuntaryContextSwitches,
        minorFaults: usage.minorPageFault,
      });
    } else if (message.type === 'stop') {
      server.closeAllConnections();
      server.close();
      profiler
        .finish(requests - requestsAtStart)
        .then(() => app.close())
        .finally(() => reply({ type: 'stopped', id: message.id }, () => process.exit(0)));
    }
  });
  const { port } = server.address() as AddressInfo;
  reply({ type: 'ready', port, visits: app.visits });
}

main().catch((error: unknown) => {
  reply({ type: 'failed', message: error instanceof Error ? error.message : String(error) }, () =>
    process.exit(1),
  );
});
