// The peer: an express-session store for the same backend, doing what
// express-session asks of it per request (get, set, destroy).
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Operation } from './config';
import type { SessionOps } from './contender';
import { CLAIMS, IDLE_MS, filler } from './fixture';

/** The callback API every express-session store implements. */
export interface ExpressStore {
  get(sid: string, cb: (err: unknown, session?: unknown) => void): void;
  set(sid: string, session: unknown, cb: (err?: unknown) => void): void;
  destroy(sid: string, cb: (err?: unknown) => void): void;
}

export const require = createRequire(import.meta.url);

/** express-session itself (CommonJS, loaded untyped: its types pull in express). */
export const expressSession = require('express-session') as {
  MemoryStore: new () => ExpressStore;
  Store: unknown;
};

const call = <T>(fn: (cb: (err: unknown, value?: T) => void) => void) =>
  new Promise<T | undefined>((resolve, reject) =>
    fn((err, value) => (err ? reject(err) : resolve(value))),
  );

const PEER_OPS: ReadonlySet<Operation> = new Set(['resolve', 'create', 'refresh', 'revoke']);

/**
 * The peer over an express-session store. create = `set` of a new session,
 * resolve = `get`, refresh = `regenerate` (destroy, then set under a new id),
 * revoke = `destroy`. express-session has no per-user index, so
 * `revokeSubject` and `listSessions` have no peer. Session ids are 24 random
 * bytes, as express-session's uid-safe makes them.
 *
 * `jsonSize` is the size of Cloakroom's sealed payload: the peer's session
 * JSON is padded to the same number of bytes.
 */
export function peerOps(
  store: ExpressStore,
  jsonSize: number,
  close: () => Promise<void>,
): SessionOps {
  const token = `eyJ${filler(600)}`;
  let pad: string | undefined;
  const session = (subject: string) => {
    const s = {
      cookie: {
        originalMaxAge: IDLE_MS,
        expires: new Date(Date.now() + IDLE_MS).toISOString(),
        secure: true,
        httpOnly: true,
        path: '/',
        sameSite: 'lax',
      },
      user: { id: subject, ...CLAIMS },
      token,
      pad: pad ?? '',
    };
    if (pad === undefined) {
      pad = filler(jsonSize - JSON.stringify(s).length);
      s.pad = pad;
    }
    return s;
  };
  const create = async (subject: string) => {
    const sid = randomBytes(24).toString('base64url');
    await call((cb) => store.set(sid, session(subject), cb));
    return sid;
  };
  const get = async (sid: string) => {
    const value = (await call<unknown>((cb) => store.get(sid, cb))) as
      | { user?: { id: string } }
      | undefined;
    if (value === undefined || value === null) throw new Error('peer: get missed');
    return value;
  };
  return {
    supports: PEER_OPS,
    create,
    async resolve(sid) {
      await get(sid);
    },
    async refresh(sid) {
      const value = await get(sid);
      await call((cb) => store.destroy(sid, cb));
      return create(value.user?.id ?? 'unknown');
    },
    async revoke(sid) {
      await call((cb) => store.destroy(sid, cb));
    },
    async revokeSubject() {
      throw new Error('peer: no per-user index');
    },
    async listSessions() {
      throw new Error('peer: no per-user index');
    },
    close,
  };
}
