import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error a plain .mjs script without declarations
import { consumerSource } from '../types-consumer.mjs';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Type-checks the generated consumer of one stand-in package (its .d.ts
 * given) the way check-published-types does under skipLibCheck, and returns
 * the consumer's own diagnostics as text.
 */
function check(declarations: string): string[] {
  dir = mkdtempSync(join(tmpdir(), 'types-consumer-'));
  const pkg = join(dir, 'node_modules', 'stand-in');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(
    join(pkg, 'package.json'),
    JSON.stringify({
      name: 'stand-in',
      version: '1.0.0',
      type: 'module',
      exports: { '.': { types: './index.d.ts', default: './index.js' } },
    }),
  );
  writeFileSync(join(pkg, 'index.d.ts'), declarations);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  const consumer = join(dir, 'consumer.ts');
  writeFileSync(consumer, consumerSource([{ specifier: 'stand-in' }], false));
  const program = ts.createProgram([consumer], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === consumer)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('scripts/types-consumer.mjs (the any-detector of check:types)', () => {
  it('passes a package whose exports all have real types', () => {
    expect(
      check(
        'export declare const count: number;\nexport declare function open(x: string): Uint8Array;\nexport interface Options { readonly a?: string }\n',
      ),
    ).toEqual([]);
  });

  it('names an export that became any through an unresolved import, which skipLibCheck hides', () => {
    const errors = check(
      "import { Gone } from 'not-installed';\nexport declare const fine: number;\nexport declare const broken: Gone;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('"broken"');
    expect(errors[0]).not.toContain('"fine"');
  });

  it('names a function whose result or a parameter became any', () => {
    const errors = check(
      "import { Gone } from 'not-installed';\nexport declare function makes(): Gone;\nexport declare function takes(x: string, y: Gone): void;\nexport declare function clean(x: string): number;\n",
    );
    expect(errors).toHaveLength(1);
    const listed = errors[0]?.match(/"(makes|takes|clean)"/g) ?? [];
    expect(errors[0]).toMatch(/"makes"|"takes"/);
    expect(listed).not.toContain('"clean"');
  });

  it('names an export declared as any outright', () => {
    const errors = check('export declare const loose: any;\n');
    expect(errors.join('\n')).toContain('"loose"');
  });

  it('fails a package that exports nothing', () => {
    const errors = check('export {};\n');
    expect(errors.join('\n')).toContain('the package exports nothing');
  });
});
