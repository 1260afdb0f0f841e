// The fleet figure of issue 16: instance A revokes, instance B (another OS
// process, near cache over store.watch) resolves under load, on a private
// redis-server. Prints the stale window (p50/p99/max after A's revoke
// returned), how many revokes B answered live past 5 ms and past the
// channel's bound. The CI test (test/integration/fleet.test.ts) runs 10,000.
//
//   pnpm --filter @cloakroom/store-redis exec tsx test/bench/fleet-revoke.ts [revokes=100000] [channel|core]
import { loadavg } from 'node:os';
import { runFleet } from '../integration/fleet/driver';
import { freePort, startRedisServer, tempDir } from '../integration/redis-servers';

const revokes = Number(process.argv[2] ?? 100_000);
// `channel` (the test's near cache over watch) or `core` (createCloakroom nearCache).
const mode = process.argv[3] === 'core' ? 'core' : 'channel';
const dir = tempDir('fleet-bench');
const port = await freePort();
const server = await startRedisServer(port, dir.dir);
try {
  const load = loadavg()[0]?.toFixed(1);
  const result = await runFleet({
    url: `redis://127.0.0.1:${port}`,
    mode,
    revokes,
    batch: 250,
    concurrency: 4,
    loops: 16,
    targetMs: 5,
    killRounds: [Math.floor(revokes / 250 / 3), Math.floor((2 * revokes) / 250 / 3)],
  });
  console.log(
    JSON.stringify({ ...result, loadavgBefore: load, loadavgAfter: loadavg()[0]?.toFixed(1) }),
  );
} finally {
  await server.kill();
  dir.remove();
}
