// The load generator child process: N keep-alive connections over raw
// sockets, one request in flight on each, every answer checked (200 and the
// expected subject). Raw sockets rather than node:http's client so the
// generator spends far less CPU per request than the servers it drives.
import { type Socket, connect } from 'node:net';
import type { LoadReply, LoadRequest, Visit } from './protocol';

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;

interface Run {
  running: boolean;
  ok: number;
  errors: number;
  firstError?: string;
  next: number;
  readonly requests: readonly Buffer[];
  readonly subjects: readonly string[];
  readonly sockets: Socket[];
}

let run: Run | undefined;

function fail(r: Run, why: string): void {
  r.errors++;
  r.firstError ??= why;
}

/** One connection: send, parse the answer, check it, send the next. */
function drive(r: Run, socket: Socket): void {
  let pending: Buffer | undefined;
  let expected = '';
  const send = () => {
    if (!r.running) return;
    const i = r.next++ % r.requests.length;
    expected = r.subjects[i] as string;
    socket.write(r.requests[i] as Buffer);
  };
  socket.on('data', (chunk: Buffer) => {
    let buf = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
    pending = undefined;
    for (;;) {
      const end = buf.indexOf(HEADER_END);
      if (end === -1) break;
      const head = buf.toString('latin1', 0, end);
      const length = CONTENT_LENGTH.exec(head);
      if (length === null) {
        fail(r, `no content-length (${head.slice(0, 12)})`);
        socket.destroy();
        return;
      }
      const total = end + 4 + Number(length[1]);
      if (buf.length < total) break;
      const status = head.slice(9, 12);
      if (status !== '200') fail(r, `status ${status}`);
      else if (buf.toString('utf8', end + 4, total) !== expected) fail(r, 'wrong subject');
      else r.ok++;
      buf = buf.subarray(total);
      send();
    }
    if (buf.length > 0) pending = buf;
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (r.running) fail(r, error.code ?? 'socket error');
  });
  send();
}

async function start(port: number, connections: number, visits: readonly Visit[]): Promise<void> {
  const r: Run = {
    running: true,
    ok: 0,
    errors: 0,
    next: 0,
    requests: visits.map((v) =>
      Buffer.from(`GET /me HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: ${v.cookie}\r\n\r\n`),
    ),
    subjects: visits.map((v) => v.subject),
    sockets: [],
  };
  const open = () =>
    new Promise<Socket>((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', noDelay: true });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  try {
    for (let i = 0; i < connections; i++) r.sockets.push(await open());
  } catch (error) {
    for (const socket of r.sockets) socket.destroy();
    throw error;
  }
  run = r;
  for (const socket of r.sockets) drive(r, socket);
}

function counts(type: 'snap' | 'halted', id: number): LoadReply {
  const r = run;
  const cpu = process.cpuUsage();
  return {
    type,
    id,
    ok: r?.ok ?? 0,
    errors: r?.errors ?? 0,
    cpuUs: cpu.user + cpu.system,
    sleeps: process.resourceUsage().voluntaryContextSwitches,
    at: performance.now(),
    ...(r?.firstError === undefined ? {} : { firstError: r.firstError }),
  };
}

const reply = (message: LoadReply) => process.send?.(message);

process.on('disconnect', () => process.exit(0));
process.on('message', (message: LoadRequest) => {
  if (message.type === 'start') {
    start(message.port, message.connections, message.visits).then(
      () => reply({ type: 'started', id: message.id }),
      (error: NodeJS.ErrnoException) => {
        run = {
          running: false,
          ok: 0,
          errors: 1,
          firstError: error.code ?? 'connect failed',
          next: 0,
          requests: [],
          subjects: [],
          sockets: [],
        };
        reply({ type: 'started', id: message.id });
      },
    );
  } else if (message.type === 'snap') {
    reply(counts('snap', message.id));
  } else if (message.type === 'halt') {
    const answer = counts('halted', message.id);
    if (run !== undefined) {
      run.running = false;
      for (const socket of run.sockets) socket.destroy();
    }
    run = undefined;
    reply(answer);
  }
});
reply({ type: 'ready' });
