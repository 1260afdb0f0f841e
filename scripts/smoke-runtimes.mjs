// Runs the session flow (create, resolve, verify, refresh, revoke) on Bun and
// Deno, each installed from the npm registry, against the packed tarballs of
// @cloakroom/core, store-memory and store-redis: once on the memory store and
// once on the Redis store (CLOAKROOM_TEST_REDIS_URL, default
// redis://127.0.0.1:6379; like the tests, it fails when Redis is unreachable).
// Node runs the same program first, as the control. Run after `pnpm build`.
//
// Deno runs with --allow-env (ioredis reads process.env when it loads) and
// --allow-net (the Redis connection); nothing else is granted.
//
// CLOAKROOM_RUNTIMES="bun,deno" picks the runtimes, each `latest` unless given as
// name@version ("bun@1.4.5,deno@2.9.6" reproduces a run); CLOAKROOM_RUNTIMES_KEEP=1
// keeps the temp dir.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npmInstall, packPublic, publicPackages } from './pack-public.mjs';

const NEEDED = ['@cloakroom/core', '@cloakroom/store-memory', '@cloakroom/store-redis'];
const RUNTIME_SPECS = (process.env.CLOAKROOM_RUNTIMES ?? 'bun,deno')
  .split(',')
  .map((spec) => (spec.includes('@') ? spec : `${spec}@latest`));
const RUNTIMES = RUNTIME_SPECS.map((spec) => spec.split('@')[0]);
const RUN_TIMEOUT_MS = 90_000;
const redisUrl = process.env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** How each runtime runs the program; `bin` is the npm package's own launcher. */
const COMMANDS = {
  node: { version: [process.execPath, '--version'], run: [process.execPath, 'flow.mjs'] },
  bun: {
    version: ['node_modules/.bin/bun', '--version'],
    run: ['node_modules/.bin/bun', 'flow.mjs'],
  },
  deno: {
    version: ['node_modules/.bin/deno', '--version'],
    run: ['node_modules/.bin/deno', 'run', '--allow-env', '--allow-net', 'flow.mjs'],
  },
};

// The program every runtime runs. It asserts each step and exits 1 on the
// first surprise; it prints no ticket, token or key.
const FLOW = `import { createCloakroom, generateSecret, generateSigningKey, staticKeys } from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';

function check(condition, what) {
  if (!condition) throw new Error('failed: ' + what);
}

async function flow(label, store) {
  const signing = await generateSigningKey();
  const cloakroom = createCloakroom({
    store,
    keys: staticKeys({
      signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
      storage: [{ key: generateSecret() }],
      index: generateSecret(),
    }),
    issuer: 'https://runtimes.test',
    audience: 'runtimes',
  });
  try {
    const created = await cloakroom.create('runtime-user', { role: 'tester' });
    const session = await cloakroom.resolve(created.ticket);
    check(session?.subject === 'runtime-user', 'create then resolve gives the subject');
    check(session.claims.role === 'tester', 'resolve gives the claims');
    const verified = await cloakroom.verify(session.token);
    check(verified.payload.sub === 'runtime-user', 'the token verifies with its subject');
    const refreshed = await cloakroom.refresh(created.ticket);
    check(refreshed !== null && refreshed.ticket !== created.ticket, 'refresh rotates the ticket');
    check((await cloakroom.resolve(refreshed.ticket))?.subject === 'runtime-user', 'the new ticket resolves');
    check((await cloakroom.revoke(refreshed.ticket)) === true, 'revoke answers true');
    check((await cloakroom.resolve(refreshed.ticket)) === null, 'a revoked ticket resolves to null');
    check((await cloakroom.resolve('cr1_not-a-ticket')) === null, 'a malformed ticket resolves to null');
  } finally {
    await cloakroom.close();
  }
  console.log('ok   ' + label + ': create, resolve, verify, refresh, revoke');
}

await flow('memory store', createMemoryStore());
const client = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
try {
  const prefix = 'smoke-runtimes:' + Date.now() + ':' + Math.random().toString(36).slice(2) + ':';
  await flow('redis store', createRedisStore({ client, prefix }));
} finally {
  client.disconnect();
}
`;

const work = mkdtempSync(join(tmpdir(), 'cloakroom-runtimes-'));
const failures = [];
try {
  const packages = publicPackages().filter((p) => NEEDED.includes(p.name));
  const missing = NEEDED.filter((name) => !packages.some((p) => p.name === name));
  if (missing.length > 0) throw new Error(`packages not found: ${missing.join(', ')}`);
  const tarballs = packPublic(packages, join(work, 'tarballs'));
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'runtimes-smoke', private: true, version: '0.0.0', type: 'module' }),
  );
  writeFileSync(join(app, 'flow.mjs'), FLOW);
  const started = Date.now();
  // ioredis is named so Deno finds it in package.json; bun and deno are
  // registry packages whose platform binary comes as an optional dependency.
  npmInstall(app, [...tarballs, 'ioredis', ...RUNTIME_SPECS], {
    save: true,
  });
  const ioredis = JSON.parse(readFileSync(join(app, 'node_modules/ioredis/package.json'), 'utf8'));
  console.log(
    `installed ${packages.map((p) => p.name).join(', ')}, ioredis ${ioredis.version}, ${RUNTIMES.join(', ')} in ${Math.round((Date.now() - started) / 1000)} s`,
  );
  for (const runtime of ['node', ...RUNTIMES]) {
    const command = COMMANDS[runtime];
    if (!command) throw new Error(`unknown runtime ${runtime}; known: ${Object.keys(COMMANDS)}`);
    let version = '?';
    try {
      version = run(app, command.version).trim().split('\n')[0];
      const output = run(app, command.run);
      console.log(`${runtime} (${version}):\n${output.trimEnd().replace(/^/gm, '  ')}`);
    } catch (error) {
      const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim() || error.message;
      console.log(`FAIL ${runtime} (${version}):\n${output.replace(/^/gm, '  ')}`);
      failures.push(runtime);
    }
  }
} finally {
  if (process.env.CLOAKROOM_RUNTIMES_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`\nthe session flow failed on: ${failures.join(', ')}`);
  process.exit(1);
}
console.log(`\nok   the session flow runs on node, ${RUNTIMES.join(', ')}`);

function run(cwd, [file, ...args]) {
  return execFileSync(file, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, REDIS_URL: redisUrl, NO_COLOR: '1' },
  });
}
