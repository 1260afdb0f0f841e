// A server child process: `node --import tsx server.ts <contender>`. Builds
// the contender's app and its sessions, listens on 127.0.0.1, answers
// snapshots of its own CPU time and request count over IPC, and exits on
// `stop` (so a --cpu-prof profile is written).
import { createServer } from 'node:http';
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
  process.on('message', (message: ServerRequest) => {
    if (message.type === 'snap') {
      const cpu = process.cpuUsage();
      const elu = performance.eventLoopUtilization();
      reply({
        type: 'snap',
        id: message.id,
        cpuUs: cpu.user + cpu.system,
        requests,
        gcUs,
        gcs,
        loops: loopCount(),
        activeUs: elu.active * 1000,
      });
    } else if (message.type === 'stop') {
      server.closeAllConnections();
      server.close();
      app.close().finally(() => reply({ type: 'stopped', id: message.id }, () => process.exit(0)));
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
