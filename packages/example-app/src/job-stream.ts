import type { ServerResponse } from 'node:http';
import type { RotatingKeyProvider } from '@cloakroom/core';
import { eventLine, keyRows, reportHtml } from './pages';
import type { RewrapRunner } from './rewrap-job';

/**
 * Server-Sent Events of the current rewrap job: its past events first, then
 * live ones, then `end` with the server-rendered report and key tables. A
 * finished (or absent) job is replayed and ended at once.
 */
export function streamJob(
  res: ServerResponse,
  runner: RewrapRunner,
  keys: RotatingKeyProvider,
): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    Connection: 'keep-alive',
  });
  const job = runner.current();
  const send = (name: string, data: unknown) =>
    res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  const end = async () => {
    const last = runner.current();
    const done = last?.events.find((e) => e.type === 'done');
    const status = await keys.status().catch(() => undefined);
    send('end', {
      state: last === undefined ? 'No rewrap has run yet.' : `Rewrap #${last.id} finished.`,
      report: done?.type === 'done' ? reportHtml(done) : '',
      signing: status === undefined ? '' : keyRows(status.signing),
      storage: status === undefined ? '' : keyRows(status.storage),
    });
    res.end();
  };
  if (job === undefined || job.finished) {
    for (const e of job?.events ?? []) send('line', eventLine(e));
    return void end();
  }
  for (const e of job.events) send('line', eventLine(e));
  const unsubscribe = runner.subscribe((e) => {
    send('line', eventLine(e));
    if (e.type === 'done' || e.type === 'failed') {
      unsubscribe();
      void end();
    }
  });
  res.on('close', unsubscribe);
}
