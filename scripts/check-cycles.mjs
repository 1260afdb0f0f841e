// Fails when any package's src/ has an import cycle, type-only imports
// included: types a lower layer needs belong in the lower layer (STYLE.md).
// Usage: node scripts/check-cycles.mjs [packages-dir]
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(
  process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '../packages'),
);
const SPEC =
  /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

function files(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files(path, out);
    else if (/\.(ts|tsx|mts|cts)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function target(from, spec) {
  const base = resolve(dirname(from), spec.replace(/\.(js|mjs|cjs)$/, ''));
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
export function cycles(graph) {
  let index = 0;
  const stack = [];
  const on = new Set();
  const idx = new Map();
  const low = new Map();
  const found = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

let failed = 0;
let checked = 0;
for (const pkg of readdirSync(root).sort()) {
  const src = join(root, pkg, 'src');
  if (!existsSync(src)) continue;
  const graph = new Map();
  for (const file of files(src)) {
    const text = readFileSync(file, 'utf8');
    const edges = new Set();
    for (const m of text.matchAll(SPEC)) {
      const to = target(file, m[1] ?? m[2]);
      if (to !== undefined) edges.add(to);
    }
    graph.set(file, edges);
  }
  checked += graph.size;
  for (const scc of cycles(graph)) {
    failed++;
    console.error(`import cycle in ${pkg}: ${scc.map((f) => relative(src, f)).join(' <-> ')}`);
  }
}
if (failed > 0) {
  console.error(`check-cycles: ${failed} import cycle(s); move the shared types to a lower file`);
  process.exit(1);
}
console.log(`check-cycles: no import cycle in ${checked} source files`);
