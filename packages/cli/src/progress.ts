// Rewrap progress on stderr: a bar redrawn in place on a terminal (fitted
// to its width, with elapsed time and ETA), one line per batch otherwise
// (logs, CI), JSON lines with --json. The counting pass before it reports
// too, so a big store never sits silent.
import type { RewrapProgress } from '@cloakroom/core';

/** Receives rewrap progress; `done` ends the bar's line. */
export interface ProgressView {
  /** The display mode it was made for. */
  readonly mode: ProgressOptions['mode'];
  /** The counting pass has counted `n` records so far. */
  counting(n: number): void;
  /** The total to expect (after the counting pass), or undefined (a resumed run). */
  start(total: number | undefined): void;
  update(progress: RewrapProgress): void;
  done(): void;
}

/** How the view writes and measures. */
export interface ProgressOptions {
  readonly write: (text: string) => void;
  readonly mode: 'bar' | 'lines' | 'json';
  /** Terminal width for the bar. @default 80 */
  readonly columns?: number;
  /** Monotonic milliseconds. @default performance.now */
  readonly now?: () => number;
}

const REDRAW_MS = 100;
const COUNT_LINE_MS = 2000;

/**
 * A duration for people: `m:ss`, or `h:mm:ss` from an hour on (rounded to
 * the second; negative counts as 0).
 *
 * @example
 * ```ts
 * clockTime(65_000); // '1:05'
 * ```
 */
export function clockTime(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * Milliseconds left at the rate so far, or undefined when it cannot be told
 * (no total, nothing scanned yet); 0 once the total is passed.
 *
 * @example
 * ```ts
 * eta(2600, 20_000, 13_000); // 87000
 * ```
 */
export function eta(
  scanned: number,
  total: number | undefined,
  elapsed: number,
): number | undefined {
  if (total === undefined || scanned <= 0) return undefined;
  return (Math.max(0, total - scanned) * elapsed) / scanned;
}

/**
 * The bar line, shorter than `columns`: on a narrow terminal the trailing
 * parts go first (rate, ETA, elapsed), the counts and the bar stay.
 * Without a total it shows the count only.
 *
 * @example
 * ```ts
 * barLine({ scanned: 2600, rewrapped: 2600, current: 0, unreadable: 0, contended: 0 }, 20_000, 13_000, 100);
 * // '[#####---…]   13%  2600/20000  rewrapped 2600  elapsed 0:13  ETA 1:27  200/s'
 * ```
 */
export function barLine(
  p: RewrapProgress,
  total: number | undefined,
  elapsed: number,
  columns: number,
): string {
  const left = eta(p.scanned, total, elapsed);
  const rate = Math.round((p.scanned * 1000) / Math.max(1, elapsed));
  const count = total === undefined ? `${p.scanned} scanned` : `${p.scanned}/${total}`;
  const tail = [
    `rewrapped ${p.rewrapped}`,
    `elapsed ${clockTime(elapsed)}`,
    left === undefined ? undefined : `ETA ${clockTime(left)}`,
    `${rate}/s`,
  ].filter((t): t is string => t !== undefined);
  if (total === undefined || total <= 0) return fit([count, ...tail], columns);
  const ratio = Math.min(1, p.scanned / total);
  const percent = `${String(Math.floor(ratio * 100)).padStart(3)}%`;
  // The bar takes its cells plus 4 (brackets and the gap), at least 10 cells.
  const text = fit([percent, count, ...tail], columns - 14);
  const width = Math.max(10, Math.min(40, columns - 1 - text.length - 4));
  const filled = Math.round(ratio * width);
  return fit([`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`, text], columns);
}

// Drops trailing parts until the line fits (one column kept free: some
// terminals wrap when the last one is written).
function fit(parts: readonly string[], columns: number): string {
  const kept = [...parts];
  while (kept.length > 1 && kept.join('  ').length > columns - 1) kept.pop();
  return kept.join('  ');
}

/**
 * The view for the output: a bar redrawn in place (a terminal), plain lines
 * (a pipe or log), or JSON lines (`--json`). Lines and JSON are written once
 * per batch; the bar at most every 100 ms, and once more by `done`.
 *
 * @example
 * ```ts
 * const view = progressView({ write: (s) => process.stderr.write(s), mode: 'lines' });
 * view.start(20_000);
 * ```
 */
export function progressView(options: ProgressOptions): ProgressView {
  const { write, mode } = options;
  const now = options.now ?? (() => performance.now());
  const columns = options.columns ?? 80;
  let started = now();
  let total: number | undefined;
  let lastCountLine = Number.NEGATIVE_INFINITY;
  let drawnAt = Number.NEGATIVE_INFINITY;
  let onLine = false;
  let last: RewrapProgress | undefined;

  const draw = (p: RewrapProgress, force: boolean) => {
    const t = now();
    if (!force && t - drawnAt < REDRAW_MS) return;
    drawnAt = t;
    onLine = true;
    // \r and clear-to-end-of-line: redraw in place.
    write(`\r\x1b[K${barLine(p, total, t - started, columns)}`);
  };
  const endLine = () => {
    if (onLine) write('\n');
    onLine = false;
  };

  return {
    mode,
    counting(n) {
      const t = now();
      if (mode === 'bar') {
        if (t - drawnAt < REDRAW_MS) return;
        drawnAt = t;
        onLine = true;
        write(`\r\x1b[Kcounting records: ${n}`);
      } else if (t - lastCountLine >= COUNT_LINE_MS) {
        lastCountLine = t;
        write(
          mode === 'json'
            ? `${JSON.stringify({ counting: { counted: n } })}\n`
            : `rewrap: counting records: ${n}\n`,
        );
      }
    },
    start(n) {
      total = n;
      started = now();
      drawnAt = Number.NEGATIVE_INFINITY;
      if (mode === 'bar') endLine();
      if (n === undefined) return;
      if (mode === 'json') write(`${JSON.stringify({ total: n })}\n`);
      else if (mode === 'lines') write(`rewrap: ${n} records to scan\n`);
    },
    update(p) {
      last = p;
      const elapsed = now() - started;
      if (mode === 'bar') return draw(p, false);
      const left = eta(p.scanned, total, elapsed);
      if (mode === 'json') {
        const extra = {
          ...(total === undefined ? {} : { total }),
          elapsedMs: Math.round(elapsed),
          ...(left === undefined ? {} : { etaMs: Math.round(left) }),
        };
        write(`${JSON.stringify({ progress: { ...p, ...extra } })}\n`);
        return;
      }
      write(
        `rewrap: scanned ${p.scanned}${total === undefined ? '' : `/${total}`}, rewrapped ${p.rewrapped}, current ${p.current}, unreadable ${p.unreadable}, contended ${p.contended}, elapsed ${clockTime(elapsed)}${left === undefined ? '' : `, ETA ${clockTime(left)}`}\n`,
      );
    },
    done() {
      if (mode === 'bar' && last !== undefined) draw(last, true);
      endLine();
    },
  };
}
