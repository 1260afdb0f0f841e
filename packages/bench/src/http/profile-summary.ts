// Summarises V8 CPU profiles of the HTTP servers (written by
// `--http-profile=DIR`): self time per area and the hottest functions, as
// shares of the busy time and as µs per request when the request count is
// known (from name.cpuprofile.json, or `=N` after the path).
// `npx tsx src/http/profile-summary.ts DIR/name.cpuprofile[=requests] ...`
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Which part of the stack a function belongs to, by its script. */
export function areaOf(url: string, name: string): string {
  if (name === '(garbage collector)') return 'GC';
  if (name === '(idle)') return 'idle';
  if (name === '(program)') return 'V8/native (program)';
  if (url === '') return `native: ${name || '(anonymous)'}`;
  if (url.includes('/packages/core/')) return 'cloakroom core';
  if (url.includes('/packages/store-memory/')) return 'store-memory';
  if (url.includes('/packages/store-redis/')) return 'store-redis';
  if (url.includes('/packages/bench/')) return 'bench app';
  if (url.includes('/ioredis/') || url.includes('/redis-parser/') || url.includes('/@ioredis/'))
    return 'ioredis';
  if (url.includes('/node_modules/'))
    return `dependency: ${url.split('/node_modules/').pop()?.split('/')[0]}`;
  if (url.startsWith('node:internal/')) return `node: ${url.slice(14).split('/')[0]}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5)}`;
  return url;
}

export async function summarise(path: string, requests?: number): Promise<string> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const area = areaOf(url, functionName);
    if (area === 'idle') continue;
    busy += us;
    areas.set(area, (areas.get(area) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  const line = (name: string, us: number) =>
    `  ${((us / busy) * 100).toFixed(1).padStart(5)}%${requests ? ` ${(us / requests).toFixed(2).padStart(7)} µs/req` : ''}  ${name}`;
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => line(k, v));
  return [
    `${basename(path)}: busy ${(busy / 1e6).toFixed(2)} s${requests ? `, ${requests} requests, ${(busy / requests).toFixed(1)} µs/req` : ''}`,
    ' by area:',
    ...top(areas, 25),
    ' hottest functions (self):',
    ...top(fns, 30),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const arg of process.argv.slice(2)) {
    const [path = '', given] = arg.split('=');
    // The server writes its request count beside the profile.
    const requests =
      given === undefined
        ? await readFile(`${path}.json`, 'utf8').then(
            (text) => (JSON.parse(text) as { requests: number }).requests,
            () => undefined,
          )
        : Number(given);
    process.stdout.write(`${await summarise(path, requests)}\n\n`);
  }
}
