// `cloakroom rewrap`: re-seal every session under the primary storage key,
// with progress, a per-key report, and a cursor to resume after Ctrl-C or a failure.
import type { RewrapReport, SessionStore } from '@cloakroom/core';
import { UsageError } from '../cli-errors';
import type { CommandContext } from '../context';
import { table } from '../format';
import type { ExitCode } from '../io';
import { openManager } from '../manager';
import { progressView } from '../progress';

function batchSize(ctx: CommandContext): number | undefined {
  const text = ctx.option('batch-size');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1 || n > 100_000) {
    throw new UsageError('--batch-size must be an integer from 1 to 100000');
  }
  return n;
}

async function countRecords(store: SessionStore): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const page = await store.scan(cursor === undefined ? { limit: 1000 } : { cursor, limit: 1000 });
    n += page.records.length;
    cursor = page.cursor;
  } while (cursor !== undefined);
  return n;
}

function resumeHint(cursor: string): string {
  return `resume with: cloakroom rewrap --cursor '${cursor}'`;
}

function printReport(ctx: CommandContext, report: RewrapReport): void {
  ctx.print(
    `scanned ${report.scanned}: rewrapped ${report.rewrapped}, already current ${report.current}, unreadable ${report.unreadable}, contended ${report.contended}`,
  );
  ctx.print(
    `records per storage key (primary ${report.primaryKeyId}):${report.scanned === 0 ? ' none' : ''}`,
  );
  const rows = Object.entries(report.byKeyId).sort((a, b) => b[1] - a[1]);
  for (const line of table(
    rows.map(([id, n]) => [`  ${id}`, String(n), id === report.primaryKeyId ? 'primary' : '']),
  )) {
    ctx.print(line);
  }
  if (report.unreadable > 0) {
    ctx.print(
      'unreadable records are under a disabled or unknown key, or damaged: they were left untouched',
    );
  }
  if (report.contended > 0)
    ctx.print('some records kept changing under concurrent writes: run rewrap again');
}

/** Run `rewrap`. Exit 130 when interrupted (the cursor to resume is printed). */
export async function rewrapCommand(ctx: CommandContext): Promise<ExitCode> {
  const size = batchSize(ctx);
  const cursor = ctx.option('cursor');
  if (cursor === '') throw new UsageError('--cursor is empty');
  const conn = ctx.connect();
  const manager = await openManager(ctx, conn);
  const mode = ctx.json ? 'json' : ctx.io.stderrIsTTY ? 'bar' : 'lines';
  let lastCursor = cursor;
  try {
    // The bar needs a total: one counting pass, only for a fresh run on a terminal.
    const total =
      mode === 'bar' && cursor === undefined ? await countRecords(conn.sessionStore()) : undefined;
    const view = progressView(ctx.io.stderr, mode, total);
    let report: RewrapReport;
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
      view.done();
    }
    if (ctx.json) ctx.printJson(report);
    else printReport(ctx, report);
    if (!report.complete) {
      ctx.warn(
        report.cursor === undefined
          ? 'rewrap interrupted before the first batch: run it again'
          : `rewrap interrupted; ${resumeHint(report.cursor)}`,
      );
      return 130;
    }
    return 0;
  } catch (error) {
    if (lastCursor !== undefined) ctx.warn(`rewrap stopped by an error; ${resumeHint(lastCursor)}`);
    throw error;
  } finally {
    await manager.close();
  }
}
