// A real Next.js app (App Router, Node.js runtime) built and started by the
// tests: route handlers wrapped by `auth.route()` and a server component
// reading `await auth.getSession()`. Written to a temp folder inside the repo
// (.tmp/, git- and lint-ignored) so its imports of `@cloakroom/*` resolve to
// the packages' sources, as the tests' aliases do.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CloakroomHttpOptions } from '@cloakroom/http';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
const PACKAGE = `${ROOT}/packages/next`;
const NEXT_BIN = `${PACKAGE}/node_modules/next/dist/bin/next`;
export const APP_DIR = `${ROOT}/.tmp/next-adapter-app`;

const alias = Object.fromEntries(
  ['core', 'http', 'next', 'store-redis'].map((name) => [
    `@cloakroom/${name}`,
    // Turbopack reads alias targets relative to the app folder.
    `../../packages/${name}/src/index.ts`,
  ]),
);

const route = (body: string) => `import { auth, state } from '../../lib/auth.js';\n${body}\n`;
const json = 'Response.json';

const FILES: Record<string, string> = {
  'next.config.mjs': `export default {
  turbopack: { root: ${JSON.stringify(ROOT)}, resolveAlias: ${JSON.stringify(alias)} },
  outputFileTracingRoot: ${JSON.stringify(ROOT)},
  serverExternalPackages: ['ioredis'],
};
`,
  'lib/auth.js': `import { randomBytes } from 'node:crypto';
import { createCloakroom, generateSecret, generateSigningKey, staticKeys } from '@cloakroom/core';
import { cloakroomNext } from '@cloakroom/next';
import { createRedisStore } from '@cloakroom/store-redis';
import { Redis } from 'ioredis';

// One manager per server process, shared by every route (globalThis: routes are separate bundles).
async function make() {
  const client = new Redis(process.env.CLOAKROOM_TEST_REDIS_URL);
  client.on('error', () => {});
  const signing = await generateSigningKey('EdDSA');
  const cloakroom = createCloakroom({
    store: createRedisStore({ client, prefix: 'cloakroom-next-test-' + randomBytes(6).toString('hex') + ':', commandTimeoutMs: 400 }),
    keys: staticKeys({
      signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
      storage: [{ key: generateSecret() }],
      index: generateSecret(),
    }),
    issuer: 'https://auth.example.test',
    audience: 'https://api.example.test',
  });
  return cloakroomNext(cloakroom, JSON.parse(process.env.CLOAKROOM_NEXT_OPTIONS ?? '{}'));
}
export const auth = () => (globalThis.__cloakroomAuth ??= make());
export const state = (globalThis.__cloakroomState ??= { notes: 0, hooks: 0 });
`,
  'app/layout.js': `import { createElement } from 'react';
export default function RootLayout({ children }) {
  return createElement('html', null, createElement('body', null, children));
}
`,
  'app/page.js': `import { createElement } from 'react';
import { auth } from '../lib/auth.js';
export const dynamic = 'force-dynamic';
export default async function Page() {
  const session = await (await auth()).getSession();
  const text = session === null ? 'signed out' : 'signed in as ' + session.subject + ' (' + session.claims.role + ')';
  return createElement('p', { id: 'who' }, text);
}
`,
  'app/login/route.js': route(`export const POST = async (request, segment) =>
  (await auth()).route(async (req, cloakroom) => {
    const { username } = await req.json();
    const { csrfToken } = await cloakroom.signIn(username, { role: 'user' });
    return ${json}({ csrfToken });
  })(request, segment);`),
  'app/me/route.js': route(`export const GET = async (request, segment) =>
  (await auth()).route(async (_req, cloakroom) => {
    const { subject, claims } = cloakroom.session;
    return ${json}({ subject, claims });
  }, { required: true })(request, segment);`),
  'app/elevate/route.js': route(`export const POST = async (request, segment) =>
  (await auth()).route(async (_req, cloakroom) => {
    const next = await cloakroom.refresh({ claims: { role: 'admin' } });
    return ${json}({}, { status: next === null ? 401 : 200 });
  }, { required: true })(request, segment);`),
  'app/logout/route.js': route(`export const POST = async (request, segment) =>
  (await auth()).route(async (_req, cloakroom) => {
    await cloakroom.signOut();
    return new Response(null, { status: 204 });
  })(request, segment);`),
  'app/logout-everywhere/route.js': route(`export const POST = async (request, segment) =>
  (await auth()).route(async (_req, cloakroom) => ${json}({ revoked: await cloakroom.signOutEverywhere() }), { required: true })(request, segment);`),
  'app/notes/route.js': route(`const handler = async (request, segment) =>
  (await auth()).route(async () => ${json}({ notes: ++state.notes }, { status: 201 }), { required: true })(request, segment);
export { handler as POST, handler as PUT, handler as PATCH, handler as DELETE };`),
  'app/webhook/route.js': route(`export const POST = async (request, segment) =>
  (await auth()).route(async () => ${json}({ hooks: ++state.hooks }), { csrf: false })(request, segment);`),
  'app/state/route.js': route(`export const dynamic = 'force-dynamic';
export const GET = async () => ${json}(state);`),
};

const env = () => ({ ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' });

/** Write the app and run `next build` once (about a minute on two cores). */
export function buildNextApp(): void {
  rmSync(APP_DIR, { recursive: true, force: true });
  for (const [path, text] of Object.entries(FILES)) {
    mkdirSync(dirname(join(APP_DIR, path)), { recursive: true });
    writeFileSync(join(APP_DIR, path), text);
  }
  // next, react and ioredis come from this package's dev dependencies.
  symlinkSync(`${PACKAGE}/node_modules`, `${APP_DIR}/node_modules`);
  const built = spawnSync(process.execPath, [NEXT_BIN, 'build'], {
    cwd: APP_DIR,
    env: env(),
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (built.status !== 0) {
    throw new Error(`next build failed (${built.status}):\n${built.stdout}\n${built.stderr}`);
  }
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface NextServer {
  readonly url: string;
  close(): Promise<void>;
}

/** `next start` on a free loopback port; resolves once it answers. */
export async function startNextApp(
  redisUrl: string,
  options: CloakroomHttpOptions,
): Promise<NextServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [NEXT_BIN, 'start', '--port', String(port), '--hostname', '127.0.0.1'],
    {
      cwd: APP_DIR,
      env: {
        ...env(),
        CLOAKROOM_TEST_REDIS_URL: redisUrl,
        CLOAKROOM_NEXT_OPTIONS: JSON.stringify(options),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited:\n${output}`);
    try {
      await fetch(`${url}/state`);
      return { url, close };
    } catch {
      if (Date.now() > deadline) {
        await close();
        throw new Error(`next start did not answer within 30 s:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
