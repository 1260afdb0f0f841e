// Packs every published package, installs the tarballs into a fresh project
// outside the workspace, and loads each with both `import` and `require`.
// Then runs a session through the installed packages. Run after `pnpm build`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'cloakroom-smoke-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

try {
  const names = [];
  const esmOnly = [];
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkgPath = join(root, 'packages', dir, 'package.json');
    if (!existsSync(pkgPath)) continue;
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
    if (pkg.private) continue;
    run('pnpm', ['pack', '--pack-destination', tarballs], join(root, 'packages', dir));
    if (pkg.exports?.['.']?.require === undefined) esmOnly.push(pkg.name);
    else names.push(pkg.name);
  }
  run('mkdir', ['-p', app], work);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'smoke', private: true, version: '0.0.0' }),
  );
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  // Peer dependencies of the store packages, so each loads as a user would have it.
  run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files, 'ioredis@5', 'pg@8'],
    app,
  );

  writeFileSync(
    join(app, 'check.mjs'),
    `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const names = ${JSON.stringify(names)};
for (const name of ${JSON.stringify(esmOnly)}) {
  const esm = await import(name);
  if (Object.keys(esm).length === 0) throw new Error(name + ': no exports');
  console.log('ok   ' + name + ' (import; ESM-only by design, ' + Object.keys(esm).length + ' exports)');
}
for (const name of names) {
  const esm = await import(name);
  const cjs = require(name);
  const a = Object.keys(esm).sort().join(','), b = Object.keys(cjs).filter((k) => k !== 'default' && k !== '__esModule').sort().join(',');
  if (a.length === 0 || a !== b) throw new Error(name + ': ESM and CJS exports differ');
  console.log('ok   ' + name + ' (import and require, ' + Object.keys(esm).length + ' exports)');
}
const core = require('@cloakroom/core');
const { createMemoryStore } = require('@cloakroom/store-memory');
const signing = await core.generateSigningKey();
const cloakroom = core.createCloakroom({
  store: createMemoryStore(),
  keys: core.staticKeys({ signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }], storage: [{ key: core.generateSecret() }], index: core.generateSecret() }),
  issuer: 'https://smoke.test', audience: 'smoke',
});
const { ticket } = await cloakroom.create('smoke-user', { role: 'tester' });
const session = await cloakroom.resolve(ticket);
if (session?.subject !== 'smoke-user') throw new Error('session did not resolve');
await cloakroom.verify(session.token);
await cloakroom.close();
console.log('ok   a session created, resolved and verified through the installed packages (CJS core)');
`,
  );
  process.stdout.write(run('node', ['check.mjs'], app));
} finally {
  rmSync(work, { recursive: true, force: true });
}
