// The stateless alternative: iron-session, the whole session sealed in the
// cookie, unsealed on every request by getIronSession (its node:http API).
import { randomBytes } from 'node:crypto';
import { getIronSession, sealData } from 'iron-session';
import { CLAIMS, filler } from '../fixture';
import {
  type AppSettings,
  type ServerApp,
  nodeListener,
  sendStatus,
  sendSubject,
  subjectOf,
} from './app';
import type { Visit } from './protocol';
import { sealedSize } from './sealed-size';

const COOKIE = 'iron-session';

interface Data {
  user?: { id: string };
  token?: string;
}

export async function ironApp(settings: AppSettings): Promise<ServerApp> {
  const password = randomBytes(32).toString('base64url');
  // The same bytes as Cloakroom's sealed record: the claims and a token.
  const size = await sealedSize();
  const visits: Visit[] = [];
  for (let i = 0; i < settings.sessions; i++) {
    const subject = subjectOf(i);
    const base = { user: { id: subject, ...CLAIMS }, token: 'eyJ' };
    const data = { ...base, token: `eyJ${filler(size - JSON.stringify(base).length)}` };
    visits.push({ cookie: `${COOKIE}=${await sealData(data, { password })}`, subject });
  }
  const options = { cookieName: COOKIE, password };
  return {
    listener: nodeListener(async (req, res) => {
      const session = await getIronSession<Data>(req, res, options);
      if (session.user === undefined) sendStatus(res, 401);
      else sendSubject(res, session.user.id);
    }),
    visits,
    close: async () => {},
  };
}
