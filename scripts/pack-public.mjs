// Packs the public packages the way scripts/smoke-pack.mjs does (`pnpm pack`
// per package after `pnpm build`), for the scripts that install the tarballs
// into a project outside the workspace. Public = every folder under packages/
// whose package.json is not `"private": true`, so a package added later is
// checked without editing any list.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** The repository root (this file lives in scripts/). */
export const root = new URL('../', import.meta.url).pathname;

/**
 * Every public workspace package: its folder, name, manifest, whether its main
 * entry ships a `require` condition (an ESM-only package has none), and its
 * entries: one specifier per `exports` subpath (`@cloakroom/core`,
 * `@cloakroom/core/web`, ...), each with its own `esmOnly`.
 */
export function publicPackages() {
  const found = [];
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    const manifest = join(root, 'packages', dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8'));
    if (pkg.private) continue;
    const subpaths = Object.keys(pkg.exports ?? { '.': {} }).filter(
      (key) => key.startsWith('.') && !key.endsWith('.json'),
    );
    found.push({
      dir: join(root, 'packages', dir),
      name: pkg.name,
      pkg,
      esmOnly: pkg.exports?.['.']?.require === undefined,
      entries: subpaths.map((key) => ({
        specifier: key === '.' ? pkg.name : `${pkg.name}${key.slice(1)}`,
        esmOnly: pkg.exports?.[key]?.require === undefined,
      })),
    });
  }
  return found;
}

/**
 * Packs each package into `destination` and returns the tarball paths (each
 * package also gets its own as `tarball`). Fails
 * with a readable message when a package has not been built, since `pnpm pack`
 * would otherwise ship a tarball without `dist/`.
 */
export function packPublic(packages, destination) {
  mkdirSync(destination, { recursive: true });
  const unbuilt = packages.filter((p) => !existsSync(join(p.dir, 'dist')));
  if (unbuilt.length > 0) {
    throw new Error(
      `not built: ${unbuilt.map((p) => p.name).join(', ')}; run \`pnpm build\` first`,
    );
  }
  const before = new Set(readdirSync(destination));
  for (const p of packages) {
    execFileSync('pnpm', ['pack', '--pack-destination', destination], {
      cwd: p.dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    // pnpm names a tarball scope-name-version.tgz; kept on the package for
    // callers that install only some of them.
    const file = `${p.name.replace(/^@/, '').replace('/', '-')}-${p.pkg.version}.tgz`;
    p.tarball = join(destination, file);
  }
  return readdirSync(destination)
    .filter((f) => f.endsWith('.tgz') && !before.has(f))
    .map((f) => join(destination, f));
}

/**
 * Runs `npm install` in `cwd` with a time bound, registry only (the tarballs
 * are local files). Throws with npm's own output when it fails or times out.
 * `save` records the specs in package.json (Deno resolves bare names there).
 */
export function npmInstall(cwd, specs, { timeoutMs = 240_000, save = false } = {}) {
  try {
    execFileSync(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        save ? '--save' : '--no-save',
        ...specs,
      ],
      { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: timeoutMs },
    );
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    throw new Error(
      `npm install failed in ${cwd}${error.signal ? ` (${error.signal}, limit ${timeoutMs} ms)` : ''}:\n${output}`,
    );
  }
}

/** {@link npmInstall} without blocking, so several projects install at once. */
export async function npmInstallAsync(cwd, specs, { timeoutMs = 240_000 } = {}) {
  try {
    await promisify(execFile)(
      'npm',
      ['install', '--no-audit', '--no-fund', '--loglevel=error', '--no-save', ...specs],
      { cwd, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const output = `${error.stdout ?? ''}${error.stderr ?? ''}`.trim();
    const ended = error.signal ? ` (${error.signal}, limit ${timeoutMs} ms)` : '';
    throw new Error(`npm install failed in ${cwd}${ended}:\n${output}`);
  }
}
