// Type-checks the published declarations (.d.ts for import, .d.cts for
// require) of every public package as a consumer sees them: installed from the
// packed tarballs with npm (never the workspace), under --strict,
// exactOptionalPropertyTypes and noUncheckedIndexedAccess, with the oldest and
// newest supported TypeScript and @types/node. Run after `pnpm build`.
//
// Each @types/node version gets one temporary project holding both
// TypeScript versions (npm aliases), so the matrix costs two installs. Each
// project has an ESM consumer (`"type": "module"`, a .ts file) and a CJS
// consumer (a .cts file), both under `module: nodenext`, checked three ways:
//   strict    skipLibCheck false, types ["node"]: errors inside our .d.ts and
//             in the .d.ts of what they import count
//   skiplib   skipLibCheck true: a type that broke silently turns into `any`
//             there, which the consumer's @ts-expect-error lines then catch
//   defaults  no `types` option, one package per program: TypeScript 6+ loads
//             no @types package by default, so a .d.ts that needs Node's types
//             must pull them in itself (run for TypeScript 6+ only; older
//             versions load every @types package, which `strict` covers)
//
// Only the packed tarballs, TypeScript and @types/node are installed (npm adds
// the peer dependencies): a type package a consumer would have to add by hand
// is a failure here, as it is for the consumer.
//
// Overrides (for trying another range): CLOAKROOM_TYPES_TS="5.7.3,latest",
// CLOAKROOM_TYPES_NODE="20,latest". CLOAKROOM_TYPES_KEEP=1 keeps the temp dir.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { npmInstallAsync, packPublic, publicPackages } from './pack-public.mjs';
import { consumerSource, ident } from './types-consumer.mjs';

const execFileAsync = promisify(execFile);

/** The supported range; the README's "Supported toolchains" section says the same. */
const TYPESCRIPT = (process.env.CLOAKROOM_TYPES_TS ?? '5.7.3,latest').split(',');
const TYPES_NODE = (process.env.CLOAKROOM_TYPES_NODE ?? '20,latest').split(',');
const TSC_TIMEOUT_MS = 120_000;

function installedVersion(project, name) {
  return JSON.parse(readFileSync(join(project, 'node_modules', name, 'package.json'), 'utf8'))
    .version;
}

/**
 * npm gives a peer shared by several packages the newest version all of them
 * accept (ioredis 5 while @cloakroom/cli asks for ^5), so a consumer of one
 * package alone can get a newer major than the projects above see. This
 * finds, per third-party peer, the newest version any public package accepts;
 * when some package does not accept it, one more project installs the
 * packages that do, with those peers, under the newest TypeScript and
 * @types/node. Returns its checks (none when nothing was held back).
 */
async function newestPeersJobs(work) {
  const accepted = new Map(); // `${peer}@${range}` -> versions that satisfy it
  const newest = new Map(); // peer -> newest version any package accepts
  for (const p of packages) {
    for (const [peer, range] of thirdPartyPeers(p)) {
      const view = execFileSync('npm', ['view', `${peer}@${range}`, 'version', '--json'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 60_000,
      });
      const versions = [JSON.parse(view || '[]')].flat();
      accepted.set(`${peer}@${range}`, new Set(versions));
      for (const v of versions) {
        if (!newest.has(peer) || compareVersions(v, newest.get(peer)) > 0) newest.set(peer, v);
      }
    }
  }
  const takesNewest = (p) =>
    thirdPartyPeers(p).every(([peer, range]) =>
      accepted.get(`${peer}@${range}`).has(newest.get(peer)),
    );
  const held = packages.filter((p) => !takesNewest(p));
  if (held.length === 0) return [];
  const subset = packages.filter(takesNewest);
  const project = join(work, 'newest-peers');
  mkdirSync(project);
  writeConsumer(project, subset);
  const peers = [...newest].map(([peer, version]) => `${peer}@${version}`);
  const started = Date.now();
  await npmInstallAsync(project, [
    ...subset.map((p) => p.tarball),
    ...peers,
    `@types/node@${TYPES_NODE.at(-1)}`,
    `ts-0@npm:typescript@${TYPESCRIPT.at(-1)}`,
  ]);
  const tsVersion = installedVersion(project, 'ts-0');
  const nodeVersion = installedVersion(project, '@types/node');
  console.log(
    `installed the newest peers (${peers.join(', ')}) without ${held.map((p) => p.name).join(', ')} (an older range) in ${seconds(started)} s`,
  );
  return ['strict', 'skiplib'].map((config) => ({
    label: `typescript ${tsVersion}, @types/node ${nodeVersion}, newest peers, ${config}`,
    run: () => runTsc(project, 'ts-0', `tsconfig.${config}.json`),
  }));
}

/** [name, range] of each peer dependency outside this repository. */
function thirdPartyPeers(p) {
  return Object.entries(p.pkg.peerDependencies ?? {}).filter(
    ([peer]) => !peer.startsWith('@cloakroom/'),
  );
}

/** Orders release versions (x.y.z; `npm view` of a range lists no prereleases). */
function compareVersions(a, b) {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

/** Runs one TypeScript's own `tsc` (a JS launcher, also for the native TypeScript 7). */
async function runTsc(project, alias, config) {
  const tsc = join(project, 'node_modules', alias, 'bin', 'tsc');
  try {
    await execFileAsync(process.execPath, [tsc, '-p', config], {
      cwd: project,
      encoding: 'utf8',
      timeout: TSC_TIMEOUT_MS,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { ok: true };
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    const ended = error.signal ? `killed (${error.signal}) after ${TSC_TIMEOUT_MS} ms` : 'failed';
    return { ok: false, output: output || `tsc ${ended}` };
  }
}

/** Runs `work(item)` for every item, at most `size` at once. */
async function inPool(items, size, work) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

function seconds(since) {
  return Math.round((Date.now() - since) / 1000);
}

function indent(text) {
  const lines = text.split('\n');
  const shown = lines.slice(0, 60).map((l) => `     ${l}`);
  if (lines.length > 60) shown.push(`     ... ${lines.length - 60} more lines`);
  return shown.join('\n');
}

/** package.json, the three tsconfigs and the two consumer files. */
function writeConsumer(project, packages) {
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'types-consumer', private: true, version: '0.0.0', type: 'module' }),
  );
  const compilerOptions = {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
  };
  const files = ['esm.ts', 'cjs.cts'];
  const configs = {
    strict: [{ ...compilerOptions, skipLibCheck: false, types: ['node'] }, files],
    skiplib: [{ ...compilerOptions, skipLibCheck: true, types: ['node'] }, files],
  };
  for (const p of packages) {
    const solo = [`solo-${ident(p.name)}.ts`];
    writeFileSync(join(project, solo[0]), consumerSource(p.entries, false));
    const required = p.entries.filter((e) => !e.esmOnly);
    if (required.length > 0) {
      solo.push(`solo-${ident(p.name)}.cts`);
      writeFileSync(join(project, solo[1]), consumerSource(required, false));
    }
    configs[`defaults.${ident(p.name)}`] = [{ ...compilerOptions, skipLibCheck: false }, solo];
  }
  for (const [name, [options, list]] of Object.entries(configs)) {
    writeFileSync(
      join(project, `tsconfig.${name}.json`),
      JSON.stringify({ compilerOptions: options, files: list }, null, 2),
    );
  }
  const entries = packages.flatMap((p) => p.entries);
  writeFileSync(join(project, 'esm.ts'), consumerSource(entries));
  writeFileSync(join(project, 'cjs.cts'), consumerSource(entries.filter((e) => !e.esmOnly)));
}

const packages = publicPackages();
if (!packages.some((p) => p.name === '@cloakroom/core')) throw new Error('no @cloakroom/core');
const work = mkdtempSync(join(tmpdir(), 'cloakroom-types-'));
const failures = [];

try {
  const specifiers = packages.flatMap((p) =>
    p.entries.map((e) => `${e.specifier}${e.esmOnly ? ' (ESM only)' : ''}`),
  );
  console.log(`public entries (${specifiers.length}): ${specifiers.join(', ')}`);
  const tarballs = packPublic(packages, join(work, 'tarballs'));
  // The installs wait on the network, so they run side by side.
  const started = Date.now();
  const projects = await Promise.all(
    TYPES_NODE.map(async (nodeTypes) => {
      const project = join(work, `types-node-${nodeTypes}`);
      mkdirSync(project);
      writeConsumer(project, packages);
      const aliases = TYPESCRIPT.map((version, i) => `ts-${i}@npm:typescript@${version}`);
      await npmInstallAsync(project, [...tarballs, `@types/node@${nodeTypes}`, ...aliases]);
      return { project, nodeTypes, nodeVersion: installedVersion(project, '@types/node') };
    }),
  );
  const installed = projects.map((p) => `@types/node@${p.nodeTypes} (${p.nodeVersion})`);
  console.log(`installed ${installed.join(' and ')} in ${seconds(started)} s`);
  const jobs = await newestPeersJobs(work);
  for (const { project, nodeVersion } of projects) {
    for (let i = 0; i < TYPESCRIPT.length; i++) {
      const tsVersion = installedVersion(project, `ts-${i}`);
      const configs = ['strict', 'skiplib'];
      if (Number(tsVersion.split('.')[0]) >= 6) {
        configs.push(...packages.map((p) => `defaults.${ident(p.name)}`));
      }
      for (const config of configs) {
        jobs.push({
          label: `typescript ${tsVersion} (${TYPESCRIPT[i]}), @types/node ${nodeVersion}, ${config}`,
          run: () => runTsc(project, `ts-${i}`, `tsconfig.${config}.json`),
        });
      }
    }
  }
  // Two compilers at a time: the machines have two cores.
  await inPool(jobs, 2, async (job) => {
    const jobStarted = Date.now();
    const result = await job.run();
    const took = `${seconds(jobStarted)} s`;
    if (result.ok) console.log(`ok   ${job.label} (${took})`);
    else {
      console.log(`FAIL ${job.label} (${took})\n${indent(result.output)}`);
      failures.push(job.label);
    }
  });
} finally {
  if (process.env.CLOAKROOM_TYPES_KEEP) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(
    `\n${failures.length} published-types check(s) failed:\n- ${failures.join('\n- ')}`,
  );
  process.exit(1);
}
console.log(
  '\nok   every public package type-checks as an ESM and a CJS consumer in every combination',
);
