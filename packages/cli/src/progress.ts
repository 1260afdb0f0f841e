// Rewrap progress on stderr: a redrawn bar on a terminal, one line per
// batch otherwise (logs, CI), JSON lines with --json.
import type { RewrapProgress } from '@cloakroom/core';

/** Receives rewrap progress; `done` ends the bar's line. */
export interface ProgressView {
  update(progress: RewrapProgress): void;
  done(): void;
}

const WIDTH = 30;
const REDRAW_MS = 100;

/** Pick the view for the output: bar (TTY), plain lines, or JSON lines. */
export function progressView(
  write: (text: string) => void,
  mode: 'bar' | 'lines' | 'json',
  total: number | undefined,
  clock: () => number = Date.now,
): ProgressView {
  if (mode === 'json') {
    return { update: (p) => write(`${JSON.stringify({ progress: p })}\n`), done: () => {} };
  }
  if (mode === 'lines') {
    return {
      update: (p) =>
        write(
          `rewrap: scanned ${p.scanned}${total === undefined ? '' : `/${total}`}, rewrapped ${p.rewrapped}, current ${p.current}, unreadable ${p.unreadable}, contended ${p.contended}\n`,
        ),
      done: () => {},
    };
  }
  const started = clock();
  let drawnAt = Number.NEGATIVE_INFINITY;
  let drawn = false;
  const draw = (p: RewrapProgress, force: boolean) => {
    const now = clock();
    if (!force && now - drawnAt < REDRAW_MS) return;
    drawnAt = now;
    drawn = true;
    const rate = Math.round((p.scanned * 1000) / Math.max(1, now - started));
    let bar: string;
    if (total !== undefined && total > 0) {
      const ratio = Math.min(1, p.scanned / total);
      const filled = Math.round(ratio * WIDTH);
      bar = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(Math.floor(ratio * 100)).padStart(3)}% ${p.scanned}/${total}`;
    } else {
      bar = `${p.scanned} scanned`;
    }
    // \r and clear-to-end-of-line: redraw in place.
    write(`\r\x1b[K${bar}  rewrapped ${p.rewrapped}  ${rate}/s`);
  };
  let last: RewrapProgress | undefined;
  return {
    update: (p) => {
      last = p;
      draw(p, false);
    },
    done: () => {
      if (last !== undefined) draw(last, true);
      if (drawn) write('\n');
    },
  };
}
