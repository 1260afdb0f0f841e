// What every HTTP contender's server process builds: a request listener for
// node:http (an Express app is one too), the sessions it holds, and cleanup.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Visit } from './protocol';

export interface ServerApp {
  readonly listener: RequestListener;
  /** One per live session: what the load generator sends and expects back. */
  readonly visits: readonly Visit[];
  close(): Promise<void>;
}

/** Settings a server process reads from its environment. */
export interface AppSettings {
  readonly sessions: number;
  readonly redisUrl: string;
  readonly autoPipelining: boolean;
}

export function appSettings(env: NodeJS.ProcessEnv): AppSettings {
  const sessions = Number(env.CLOAKROOM_HTTP_SESSIONS ?? '1000');
  if (!Number.isInteger(sessions) || sessions <= 0) {
    throw new Error('CLOAKROOM_HTTP_SESSIONS needs a positive integer');
  }
  return {
    sessions,
    redisUrl: env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    autoPipelining: env.CLOAKROOM_BENCH_AUTOPIPELINING !== '0',
  };
}

/** The subject of the i-th benchmark session. */
export const subjectOf = (i: number) => `user-${i}`;

/** The node:http answer of every contender: 200 with the subject as text. */
export function sendSubject(res: ServerResponse, subject: string): void {
  res.writeHead(200, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(subject),
  });
  res.end(subject);
}

export function sendStatus(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': 0 });
  res.end();
}

/** A node:http listener from an async handler: a throw answers 500. */
export function nodeListener(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
): RequestListener {
  return (req, res) => {
    try {
      const done = handle(req, res);
      if (done !== undefined) done.catch(() => sendStatus(res, 500));
    } catch {
      sendStatus(res, 500);
    }
  };
}
