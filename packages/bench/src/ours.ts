import type { Cloakroom } from '@cloakroom/core';
import { CLAIMS } from './fixture';
import { ALL_OPS, type SessionOps } from './contender';

/** Cloakroom's public API, as an application calls it (default policy; the actor is the subject). */
export function cloakroomOps(cloakroom: Cloakroom): SessionOps {
  return {
    supports: ALL_OPS,
    async create(subject) {
      return (await cloakroom.create(subject, { ...CLAIMS })).ticket;
    },
    async resolve(ticket) {
      if ((await cloakroom.resolve(ticket)) === null) throw new Error('cloakroom: resolve missed');
    },
    async refresh(ticket) {
      const next = await cloakroom.refresh(ticket);
      if (next === null) throw new Error('cloakroom: refresh missed');
      return next.ticket;
    },
    async revoke(ticket) {
      if (!(await cloakroom.revoke(ticket))) throw new Error('cloakroom: revoke missed');
    },
    async revokeSubject(subject) {
      if ((await cloakroom.revokeSubject(subject, { subject })) === 0) {
        throw new Error('cloakroom: revokeSubject found nothing');
      }
    },
    async listSessions(subject) {
      if ((await cloakroom.listSessions(subject, { subject })).length === 0) {
        throw new Error('cloakroom: listSessions found nothing');
      }
    },
    close: () => cloakroom.close(),
  };
}
