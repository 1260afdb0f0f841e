// `cloakroom rewrap`: re-seal every session under the primary storage key,
// with a counted progress display, a per-key report, and a command to
// resume after Ctrl-C or a failure. A report that covers part of the store
// (interrupted, or resumed from a cursor) says so on stdout and shows the
// whole store's count per key: it must never read as "only the primary left".
import { resolve } from 'node:path';
import type { RewrapReport } from '@cloakroom/core';
import { type Census, census, keyRows } from '../census';
import { UsageError } from '../cli-errors';
import type { CommandContext } from '../context';
import { shellWord, table } from '../format';
import type { ExitCode } from '../io';
import { openManager } from '../manager';
import { OPTIONS, type OptionName, type OptionSpec } from '../options';
import { progressView } from '../progress';
import { parseStoreUrl } from '../store-url';

function batchSize(ctx: CommandContext): number | undefined {
  const text = ctx.option('batch-size');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1 || n > 100_000) {
    throw new UsageError('--batch-size must be an integer from 1 to 100000');
  }
  return n;
}

// Options naming a file: made absolute, so the command works from any directory.
const PATHS: ReadonlySet<OptionName> = new Set(['keys-file', 'master-key-file']);

/**
 * Whether a `--store` value may be repeated in a printed command: not when
 * it carries a password (in the user info or a query parameter), nor when it
 * does not parse, since then nobody can tell what it carries.
 */
function storeRepeatable(value: string): boolean {
  try {
    const spec = parseStoreUrl(value);
    return !(
      ('password' in spec && spec.password !== undefined) ||
      ('sslpassword' in spec && spec.sslpassword !== undefined)
    );
  } catch {
    return false;
  }
}

/**
 * The command that resumes this run: the flags it was started with (secrets
 * are never flags, so none can appear; `--debug` is dropped; a `--store`
 * URL that carries a password is dropped too, so the command then reads
 * the store from `CLOAKROOM_STORE_URL`), file paths
 * made absolute, values shell-quoted, and the new cursor. Environment
 * variables it used are not repeated: the same shell still has them.
 *
 * @example
 * ```ts
 * resumeCommand(ctx, cursor); // "cloakroom rewrap --keys-file /etc/app/keys.json --batch-size 100 --cursor 'c1.…'"
 * ```
 */
export function resumeCommand(ctx: CommandContext, cursor: string): string {
  const words = ['cloakroom', 'rewrap'];
  // The parsed values hold only what this command takes, in declaration order.
  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    if (name === 'cursor' || name === 'debug') continue;
    const value = ctx.values[name];
    if (value === undefined) continue;
    const spec: OptionSpec = OPTIONS[name];
    if (spec.value === undefined) {
      if (value === true) words.push(`--${name}`);
      continue;
    }
    if (typeof value !== 'string') continue;
    if (name === 'store' && !storeRepeatable(value)) continue;
    words.push(`--${name}`, shellWord(PATHS.has(name) ? resolve(ctx.cwd, value) : value));
  }
  words.push('--cursor', shellWord(cursor));
  return words.join(' ');
}

function printRun(ctx: CommandContext, report: RewrapReport, label: string): void {
  ctx.print(
    `${label}scanned ${report.scanned}: rewrapped ${report.rewrapped}, already current ${report.current}, unreadable ${report.unreadable}, contended ${report.contended}`,
  );
}

function printKeys(
  ctx: CommandContext,
  heading: string,
  byKeyId: Readonly<Record<string, number>>,
  primary: string,
): void {
  const rows = keyRows(byKeyId);
  ctx.print(`${heading} (primary ${primary}):${rows.length === 0 ? ' none' : ''}`);
  for (const line of table(
    rows.map(([id, n]) => [`  ${id}`, String(n), id === primary ? 'primary' : '']),
  )) {
    ctx.print(line);
  }
}

function onlyPrimary(byKeyId: Readonly<Record<string, number>>, primary: string): boolean {
  return Object.keys(byKeyId).every((id) => id === primary);
}

function printAdvice(ctx: CommandContext, report: RewrapReport, whole: Census | undefined): void {
  if (report.unreadable > 0) {
    ctx.print(
      'unreadable records are under a disabled or unknown key, or damaged: they were left untouched',
    );
  }
  if (report.contended > 0) {
    ctx.print('some records kept changing under concurrent writes: run rewrap again');
  }
  const byKeyId = whole?.byKeyId ?? report.byKeyId;
  const clean = onlyPrimary(byKeyId, report.primaryKeyId) && (whole?.malformed ?? 0) === 0;
  if (!report.complete || !clean) {
    ctx.print('older storage keys still hold records: do not disable them yet');
  } else if (report.unreadable === 0) {
    ctx.print('only the primary storage key holds records: older storage keys can be disabled');
  }
}

/** Run `rewrap`. Exit 130 when interrupted (the command that resumes it is printed). */
export async function rewrapCommand(ctx: CommandContext): Promise<ExitCode> {
  const size = batchSize(ctx);
  const cursor = ctx.option('cursor');
  const conn = await ctx.connect();
  const manager = await openManager(ctx, conn);
  const view = progressView({
    write: ctx.io.stderr,
    mode: ctx.json ? 'json' : ctx.io.stderrIsTTY ? 'bar' : 'lines',
    ...(ctx.io.columns === undefined ? {} : { columns: ctx.io.columns }),
  });
  const countStore = (onPage?: (n: number) => void) =>
    census(conn.sessionStore(), ctx.clock(), onPage);
  let lastCursor = cursor;
  try {
    // A fresh run counts first, for the total, the ETA and "what is left";
    // a resumed one cannot tell how much lies after its cursor.
    const before = cursor === undefined ? await countStore((n) => view.counting(n)) : undefined;
    view.start(before?.total);
    let report: RewrapReport;
    ctx.io.onInterruptible?.(true);
    try {
      report = await manager.rewrap(
        {
          ...(size === undefined ? {} : { batchSize: size }),
          ...(cursor === undefined ? {} : { cursor }),
          ...(ctx.io.signal === undefined ? {} : { signal: ctx.io.signal }),
          onProgress: (p) => {
            if (p.cursor !== undefined) lastCursor = p.cursor;
            view.update(p);
          },
        },
        ctx.actor,
      );
    } finally {
      ctx.io.onInterruptible?.(false);
      view.done();
    }
    const resumed = cursor !== undefined;
    const resume =
      report.complete || report.cursor === undefined
        ? undefined
        : resumeCommand(ctx, report.cursor);
    const remaining =
      !report.complete && before !== undefined
        ? Math.max(0, before.total - report.scanned)
        : undefined;
    const facts = { resumed, remaining, resume, total: before?.total };
    // Said before the whole-store count, which takes a while on a big store
    // (and a second Ctrl-C may end it): nothing printed so far reads as complete.
    if (!ctx.json) printHeader(ctx, report, facts);
    if (!report.complete) {
      ctx.warn(
        resume === undefined
          ? 'rewrap interrupted before the first batch: run it again'
          : `rewrap interrupted; resume with: ${resume}`,
      );
    }
    // The run's own counts cover part of the store: count all of it.
    let whole: Census | undefined;
    if (!report.complete || resumed) {
      const counting = progressView({ write: ctx.io.stderr, mode: view.mode });
      try {
        whole = await countStore((n) => counting.counting(n));
      } finally {
        counting.done();
      }
    }
    if (ctx.json) {
      ctx.printJson({
        ...report,
        resumed,
        ...(before === undefined ? {} : { total: before.total }),
        ...(remaining === undefined ? {} : { remaining }),
        ...(whole === undefined
          ? {}
          : { store: { total: whole.total, byKeyId: whole.byKeyId, malformed: whole.malformed } }),
        ...(resume === undefined ? {} : { resume }),
      });
    } else {
      printBody(ctx, report, whole, resume);
    }
    return report.complete ? 0 : 130;
  } catch (error) {
    if (lastCursor !== undefined) {
      ctx.warn(`rewrap stopped by an error; resume with: ${resumeCommand(ctx, lastCursor)}`);
    }
    throw error;
  } finally {
    await manager.close();
  }
}

interface RunFacts {
  readonly resumed: boolean;
  readonly remaining: number | undefined;
  readonly resume: string | undefined;
  readonly total: number | undefined;
}

function printHeader(ctx: CommandContext, report: RewrapReport, facts: RunFacts): void {
  const partial = !report.complete || facts.resumed;
  if (!report.complete) {
    const left =
      facts.remaining === undefined
        ? 'records after its cursor were not scanned'
        : `about ${facts.remaining} of ${facts.total} records not yet scanned`;
    ctx.print(`rewrap INTERRUPTED, not complete: ${left}`);
  } else if (facts.resumed) {
    ctx.print('rewrap resumed from a cursor: complete now (this run covered the records after it)');
  }
  printRun(ctx, report, partial ? 'this run: ' : '');
}

function printBody(
  ctx: CommandContext,
  report: RewrapReport,
  whole: Census | undefined,
  resume: string | undefined,
): void {
  if (whole === undefined) {
    printKeys(ctx, 'records per storage key', report.byKeyId, report.primaryKeyId);
  } else {
    printKeys(
      ctx,
      `records per storage key in the whole store now, ${whole.total} in all`,
      whole.byKeyId,
      report.primaryKeyId,
    );
    if (whole.malformed > 0) ctx.print(`malformed: ${whole.malformed}`);
  }
  printAdvice(ctx, report, whole);
  if (resume !== undefined) ctx.print(`resume with: ${resume}`);
}
