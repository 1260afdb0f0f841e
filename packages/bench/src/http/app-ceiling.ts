// The no-session ceiling: reads the same cookie, answers the subject written
// in it, finds no session. What the framework costs with nothing to look up.
import { randomBytes } from 'node:crypto';
import { readTicketCookie } from '@cloakroom/core';
import express from 'express';
import { type ServerApp, nodeListener, sendStatus, sendSubject, subjectOf } from './app';
import type { Framework } from './contenders';
import type { Visit } from './protocol';

const NAME = '__Host-cloakroom';

/** The subject before the first '.', so the cookie can be as long as a ticket. */
function subjectIn(cookieHeader: string | undefined): string | undefined {
  const value = readTicketCookie(cookieHeader);
  if (value === undefined) return undefined;
  const dot = value.indexOf('.');
  return dot === -1 ? value : value.slice(0, dot);
}

export function ceilingApp(framework: Framework, sessions: number): ServerApp {
  const visits: Visit[] = [];
  for (let i = 0; i < sessions; i++) {
    const subject = subjectOf(i);
    // About a ticket's length, so both parse a header of the same size.
    visits.push({ cookie: `${NAME}=${subject}.${randomBytes(36).toString('base64url')}`, subject });
  }
  if (framework === 'node') {
    return {
      listener: nodeListener((req, res) => {
        const subject = subjectIn(req.headers.cookie);
        if (subject === undefined) sendStatus(res, 401);
        else sendSubject(res, subject);
      }),
      visits,
      close: async () => {},
    };
  }
  const app = express();
  app.get('/me', (req, res) => {
    const subject = subjectIn(req.headers.cookie);
    if (subject === undefined) res.sendStatus(401);
    else res.type('text/plain').send(subject);
  });
  return { listener: app, visits, close: async () => {} };
}
