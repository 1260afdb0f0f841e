#!/usr/bin/env node
// Type-checks every ```ts / ```typescript block of README.md, docs/**/*.md and
// packages/*/README.md, so the docs cannot drift from the code.
//
// Each block becomes one module file under .tmp/docs-check/ (inside the repo,
// so `@cloakroom/*` resolve through the root tsconfig paths to packages/*/src)
// and all of them are type-checked as one `tsc --noEmit` program. Module files
// allow top-level await; `export {}` is appended so blocks never share names.
//
// Directives, either as the first line of a block or as an HTML comment on
// the line before its fence (invisible when the Markdown is rendered):
//   // @docs-skip: <reason>      <!-- docs-check: skip: <reason> -->
//       not checked (a deliberate fragment); keep these rare
//   // @docs-continue            <!-- docs-check: continue -->
//       appended to the previous checked block of the same file, so a
//       step-by-step guide is checked as one program
//   <!-- docs-check: run -->
//       the program starting with this block is also executed (tsx, 60 s)
//       after type-checking passes
//   <!-- docs-check: same-as: <repo path> -->
//       the block is a verbatim copy of a source file that `pnpm typecheck`
//       already covers (e.g. with relative imports): it must stay identical
//
// Also checked: every relative link leads to an existing file (and anchor, for
// Markdown targets), and docs/errors.md has a section per ErrorCode.
//
// Usage: node scripts/check-docs.mjs [--verbose] [file.md ...]
//   with files: check only those (any repo-relative path, e.g. a draft under .tmp/)
// Exit status: 0 when every block type-checks (and runs), 1 otherwise.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, '.tmp', 'docs-check');
const BLOCKS = join(OUT, 'blocks');
const verbose = process.argv.includes('--verbose');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const LANGS = new Set(['ts', 'typescript']);
const SKIP = /^\s*\/\/\s*@docs-skip\b:?\s*(.*)$/;
const CONTINUE = /^\s*\/\/\s*@docs-continue\b/;
const HTML_DIRECTIVE = /^\s*<!--\s*docs-check:\s*(skip|continue|run|same-as)\b:?\s*(.*?)\s*-->\s*$/;

/** Markdown files in scope, repo-relative with `/` separators, sorted. */
function markdownFiles() {
  const out = [];
  if (existsSync(join(ROOT, 'README.md'))) out.push('README.md');
  const walk = (dir) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      // docs/api is typedoc's generated HTML.
      if (entry.isDirectory() && rel !== 'docs/api') walk(rel);
      else if (entry.isFile() && entry.name.endsWith('.md')) out.push(rel);
    }
  };
  if (existsSync(join(ROOT, 'docs'))) walk('docs');
  for (const pkg of readdirSync(join(ROOT, 'packages'), { withFileTypes: true })) {
    const rel = `packages/${pkg.name}/README.md`;
    if (pkg.isDirectory() && existsSync(join(ROOT, rel))) out.push(rel);
  }
  return out.sort();
}

/**
 * Fenced code blocks of a Markdown text (CommonMark fences of ``` or ~~~,
 * any indentation so blocks inside list items count). A fence is closed only
 * by the same character at least as long, so a ```ts shown inside a ````md
 * example is not extracted.
 */
function fencedBlocks(text) {
  const lines = text.split(/\r?\n/);
  const blocks = [];
  let open;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (open === undefined) {
      const m = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)/.exec(line);
      if (m) {
        let prev = i - 1;
        while (prev >= 0 && lines[prev].trim() === '') prev--;
        const d = prev >= 0 ? HTML_DIRECTIVE.exec(lines[prev]) : null;
        open = {
          indent: m[1].length,
          fence: m[2],
          lang: m[3].toLowerCase(),
          line: i + 1,
          body: [],
          directive: d ? { kind: d[1], reason: d[2] } : undefined,
        };
      }
      continue;
    }
    const close = /^\s*(`{3,}|~{3,})\s*$/.exec(line);
    if (close && close[1][0] === open.fence[0] && close[1].length >= open.fence.length) {
      blocks.push(open);
      open = undefined;
      continue;
    }
    // Strip the fence's own indentation (list items), never more.
    const strip = Math.min(open.indent, line.length - line.trimStart().length);
    open.body.push(line.slice(strip));
  }
  return blocks;
}

function extract(files) {
  const programs = [];
  const skipped = [];
  const copies = [];
  const problems = [];
  let blockCount = 0;
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    let last;
    for (const block of fencedBlocks(text)) {
      if (!LANGS.has(block.lang)) continue;
      blockCount++;
      const first = block.body.find((l) => l.trim() !== '') ?? '';
      const d = block.directive;
      if (d?.kind === 'same-as') {
        const source = join(ROOT, d.reason);
        const norm = (t) => t.replace(/[ \t]+$/gm, '').replace(/\s+$/, '');
        if (d.reason === '' || !existsSync(source)) {
          problems.push(`${file}:${block.line}: same-as names no existing file ("${d.reason}")`);
        } else if (norm(readFileSync(source, 'utf8')) !== norm(block.body.join('\n'))) {
          problems.push(`${file}:${block.line}: the block is no longer the same as ${d.reason}`);
        }
        copies.push({ file, line: block.line, source: d.reason });
        continue;
      }
      const skip = d?.kind === 'skip' ? [d.kind, d.reason] : SKIP.exec(first);
      if (skip) {
        if (skip[1].trim() === '') {
          problems.push(`${file}:${block.line}: @docs-skip needs a reason ("// @docs-skip: why")`);
        }
        skipped.push({ file, line: block.line, reason: skip[1].trim() });
        continue;
      }
      // The code starts on the line after the opening fence.
      const segment = { file, line: block.line + 1, body: block.body };
      if (d?.kind === 'continue' || CONTINUE.test(first)) {
        if (last === undefined) {
          problems.push(`${file}:${block.line}: @docs-continue without a previous checked block`);
          continue;
        }
        last.segments.push(segment);
        continue;
      }
      last = { file, run: d?.kind === 'run', segments: [segment] };
      programs.push(last);
    }
  }
  return { programs, skipped, copies, problems, blockCount };
}

/**
 * Packages installed in some workspace package but not at the root (pg,
 * ioredis, express, hono…) are linked into .tmp/docs-check/node_modules, so
 * docs blocks resolve them (subpath exports and @types included) exactly as
 * code in that package would, both for tsc and when a block is run.
 */
function linkDependencies() {
  const target = join(OUT, 'node_modules');
  const link = (from, name) => {
    const to = join(target, name);
    if (existsSync(to) || existsSync(join(ROOT, 'node_modules', name))) return;
    mkdirSync(dirname(to), { recursive: true });
    symlinkSync(realpathSync(from), to, 'dir');
  };
  for (const pkg of readdirSync(join(ROOT, 'packages')).sort()) {
    const nm = join(ROOT, 'packages', pkg, 'node_modules');
    if (!existsSync(nm)) continue;
    for (const entry of readdirSync(nm)) {
      if (entry.startsWith('.') || entry === '@cloakroom') continue;
      if (!entry.startsWith('@')) {
        link(join(nm, entry), entry);
        continue;
      }
      for (const sub of readdirSync(join(nm, entry))) link(join(nm, entry, sub), `${entry}/${sub}`);
    }
  }
}

function writePrograms(programs) {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(BLOCKS, { recursive: true });
  const byPath = new Map();
  for (const program of programs) {
    const first = program.segments[0];
    const name = `${first.file.replace(/[^A-Za-z0-9]+/g, '_')}__L${first.line}.ts`;
    const path = join(BLOCKS, name);
    const lines = [];
    const origin = []; // generated line (0-based) → { file, line }
    for (const seg of program.segments) {
      seg.body.forEach((text, i) => {
        lines.push(text);
        origin.push({ file: seg.file, line: seg.line + i });
      });
    }
    lines.push('export {};', '');
    writeFileSync(path, lines.join('\n'));
    program.path = path;
    byPath.set(path, { program, origin });
  }
  const tsconfig = {
    extends: '../../tsconfig.json',
    // baseUrl and the `@cloakroom/*` paths come from the root config.
    compilerOptions: { noEmit: true },
    include: ['blocks/*.ts'],
  };
  linkDependencies();
  writeFileSync(join(OUT, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  return byPath;
}

/** `tsc` diagnostics, each mapped back to its Markdown line when it is in a block. */
function typeCheck(byPath) {
  if (byPath.size === 0) return { inDocs: [], elsewhere: [] };
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [tsc, '-p', join(OUT, 'tsconfig.json'), '--pretty', 'false'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (result.error) throw result.error;
  const inDocs = [];
  const elsewhere = [];
  let current;
  for (const line of `${result.stdout}${result.stderr}`.split('\n')) {
    const m = /^(.+?)\((\d+),(\d+)\): (error|warning) (TS\d+: .*)$/.exec(line);
    // A global error (bad config, missing file) has no location: it fails the check.
    const global = /^error (TS\d+: .*)$/.exec(line);
    if (global) {
      current = { where: '.tmp/docs-check/tsconfig.json', text: global[1] };
      inDocs.push(current);
      continue;
    }
    if (!m) {
      if (current && line.trim() !== '') current.text += `\n    ${line.trim()}`;
      else if (line.trim() !== '' && !current) elsewhere.push(line);
      continue;
    }
    const abs = resolve(ROOT, m[1]);
    const entry = byPath.get(abs);
    const origin = entry?.origin[Number(m[2]) - 1];
    if (origin) {
      current = {
        where: `${origin.file}:${origin.line}:${m[3]}`,
        text: m[5],
        program: entry.program,
      };
      inDocs.push(current);
    } else if (entry) {
      current = { where: `${relative(ROOT, abs)}:${m[2]}`, text: m[5], program: entry.program };
      inDocs.push(current);
    } else {
      current = { where: `${relative(ROOT, abs)}:${m[2]}:${m[3]}`, text: m[5] };
      elsewhere.push(current);
    }
  }
  return { inDocs, elsewhere, status: result.status };
}

function runPrograms(programs) {
  const failures = [];
  const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  for (const program of programs.filter((p) => p.run)) {
    const where = `${program.segments[0].file}:${program.segments[0].line}`;
    const result = spawnSync(
      process.execPath,
      [tsx, '--tsconfig', join(OUT, 'tsconfig.json'), program.path],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, NODE_ENV: 'test' },
      },
    );
    if (result.status === 0) {
      if (verbose) console.log(`ran ${where}\n${result.stdout}`);
      continue;
    }
    failures.push({
      where,
      output: `${result.stdout}${result.stderr}`.trim() || String(result.error ?? result.signal),
    });
  }
  return failures;
}

/** The lines of a Markdown text with fenced code blanked out (line numbers kept). */
function proseLines(text) {
  let fence;
  return text.split(/\r?\n/).map((line) => {
    const f = /^\s*(`{3,}|~{3,})/.exec(line);
    if (f && fence === undefined) {
      fence = f[1];
      return '';
    }
    if (f && f[1][0] === fence[0] && f[1].length >= fence.length && /^\s*[`~]+\s*$/.test(line)) {
      fence = undefined;
      return '';
    }
    return fence === undefined ? line : '';
  });
}

/**
 * Relative links between the docs must lead somewhere: `[text](path#anchor)`
 * to a file that exists and, for a Markdown target, to an anchor it defines
 * (a heading's GitHub slug or an explicit `<a id>`). Links inside code are ignored.
 */
function linkProblems(files) {
  const out = [];
  const anchorsOf = new Map();
  const anchors = (path) => {
    if (!anchorsOf.has(path)) {
      const text = proseLines(readFileSync(path, 'utf8')).join('\n');
      const set = new Set([...text.matchAll(/<a id="([^"]+)"/g)].map((m) => m[1]));
      const seen = new Map();
      for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
        // GitHub's slug: lower case, punctuation dropped (not - or _), spaces to hyphens.
        const slug = m[1]
          .toLowerCase()
          .replace(/<[^>]+>/g, '')
          .replace(/[^\p{L}\p{N}\s_-]/gu, '')
          .replace(/\s/g, '-');
        const n = seen.get(slug) ?? 0;
        seen.set(slug, n + 1);
        set.add(n === 0 ? slug : `${slug}-${n}`);
      }
      anchorsOf.set(path, set);
    }
    return anchorsOf.get(path);
  };
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    proseLines(text).forEach((line, i) => {
      const prose = line.replace(/`[^`]*`/g, '');
      for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        const [path, anchor] = target.split('#');
        const abs = path === '' ? join(ROOT, file) : resolve(dirname(join(ROOT, file)), path);
        if (!existsSync(abs)) {
          out.push(`${file}:${i + 1}: broken link ${target} (no such file)`);
        } else if (anchor && abs.endsWith('.md') && !anchors(abs).has(anchor)) {
          out.push(`${file}:${i + 1}: broken link ${target} (no such anchor)`);
        }
      }
    });
  }
  return out;
}

/**
 * Every `ErrorCode` has its section in docs/errors.md: error messages link
 * `docs/errors.md#<code in lower case>` (errorDocsUrl in core).
 */
function errorAnchorProblems() {
  const source = readFileSync(join(ROOT, 'packages/core/src/errors.ts'), 'utf8');
  const union = /export type ErrorCode =([^;]+);/.exec(source);
  if (!union) return ['packages/core/src/errors.ts: ErrorCode union not found'];
  const codes = [...union[1].matchAll(/'(ERR_[A-Z_]+)'/g)].map((m) => m[1]);
  const docsPath = join(ROOT, 'docs/errors.md');
  const docs = existsSync(docsPath) ? readFileSync(docsPath, 'utf8') : '';
  const out = [];
  for (const code of codes) {
    if (!docs.includes(`<a id="${code.toLowerCase()}"></a>`) || !docs.includes(`\n## ${code}\n`)) {
      out.push(
        `docs/errors.md: no section for ${code} (need <a id="${code.toLowerCase()}"></a> and "## ${code}")`,
      );
    }
  }
  return out;
}

const files =
  only.length > 0
    ? only.map((f) => relative(ROOT, resolve(f)).split('\\').join('/'))
    : markdownFiles();
const { programs, skipped, copies, problems, blockCount } = extract(files);
problems.push(...errorAnchorProblems(), ...linkProblems(files));
const byPath = writePrograms(programs);
const started = Date.now();
const { inDocs, elsewhere } = typeCheck(byPath);
const checkedBlocks = programs.reduce((n, p) => n + p.segments.length, 0);

for (const p of problems) console.error(p);
for (const d of inDocs) console.error(`${d.where}: ${d.text}`);
if (elsewhere.length > 0) {
  console.warn(
    `note: ${elsewhere.length} diagnostic(s) outside the docs blocks (in package sources; \`pnpm typecheck\` reports them):`,
  );
  for (const d of elsewhere.slice(0, 10))
    console.warn(`  ${typeof d === 'string' ? d : `${d.where}: ${d.text}`}`);
}
// Programs that type-check are run even when others fail, so one report shows both.
const failedPrograms = new Set(inDocs.map((d) => d.program).filter(Boolean));
const runFailures = runPrograms(programs.filter((p) => !failedPrograms.has(p)));
for (const f of runFailures) console.error(`${f.where}: the block failed when run:\n${f.output}`);
if (skipped.length > 0) {
  console.log(`skipped (${skipped.length}):`);
  for (const s of skipped) console.log(`  ${s.file}:${s.line}: ${s.reason}`);
}
console.log(
  `docs: ${files.length} Markdown files, ${blockCount} ts blocks: ${checkedBlocks} type-checked as ${programs.length} programs ` +
    `(${programs.filter((p) => p.run).length} also run), ${copies.length} compared with their source file, ` +
    `${skipped.length} skipped; ` +
    `${inDocs.length} error(s) in ${failedPrograms.size} program(s), ${runFailures.length} run failure(s) ` +
    `[${((Date.now() - started) / 1000).toFixed(1)} s]`,
);
process.exit(inDocs.length > 0 || problems.length > 0 || runFailures.length > 0 ? 1 : 0);
