import { describe, expect, it } from 'vitest';
import { type CloakroomEvent, generateTicket } from '@cloakroom/core';
import { dump, setup } from '../support/fixtures';

const toBase64UrlForTests = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

describe('SEC-27 audit events carry hashed ids only', () => {
  it('SEC-27 SEC-02 a full session life leaks no ticket, token, key, claim or subject into events, errors or the store', async () => {
    const SUBJECT = 'subject-MARKER-7f3a@example.com';
    const CLAIM = 'claim-MARKER-91be';
    const { cloakroom, clock, events, memory, material } = await setup({ refreshGraceMs: 1000 });
    const errors: string[] = [];
    const secrets: string[] = [SUBJECT, CLAIM];

    const created = await cloakroom.create(SUBJECT, { note: CLAIM }, { label: 'device' });
    secrets.push(created.ticket);
    const session = await cloakroom.resolve(created.ticket);
    secrets.push(session?.token ?? 'missing-token');
    const refreshed = await cloakroom.refresh(created.ticket);
    secrets.push(refreshed?.ticket ?? 'missing-ticket');
    secrets.push((await cloakroom.resolve(refreshed?.ticket))?.token ?? 'missing-token');
    const stored = await dump(memory);
    await cloakroom
      .listSessions(SUBJECT)
      .catch((e: Error) => errors.push(`${e.name}: ${e.message}`));
    await cloakroom
      .create(SUBJECT, { exp: 1 })
      .catch((e: Error) => errors.push(`${e.name}: ${e.message}`));
    await cloakroom.create('', {}).catch((e: Error) => errors.push(`${e.name}: ${e.message}`));
    clock.advance(1000);
    await cloakroom.resolve(created.ticket); // reuse → family revoked
    await cloakroom.resolve(generateTicket());
    await cloakroom.resolve(`${created.ticket}x`);
    await cloakroom.revokeSubject(SUBJECT, { subject: SUBJECT });

    const keyStrings = [
      toBase64UrlForTests(material.storage),
      toBase64UrlForTests(material.index),
      String(material.signing.privateJwk.d),
    ];
    const types = new Set(events.map((e: CloakroomEvent) => e.type));
    for (const t of [
      'session.created',
      'session.refreshed',
      'session.rejected',
      'session.reuse_detected',
      'subject.revoked',
      'access.denied',
    ]) {
      expect(types.has(t as CloakroomEvent['type'])).toBe(true);
    }
    const haystacks = [
      ...events.map((e) => JSON.stringify(e)),
      ...errors,
      ...stored.map((r) =>
        JSON.stringify({ ...r, payload: Buffer.from(r.payload).toString('latin1') }),
      ),
    ];
    expect(errors).toHaveLength(3);
    for (const hay of haystacks) {
      expect(hay).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
      for (const s of [...secrets, ...keyStrings]) expect(hay.includes(s)).toBe(false);
      // The ticket body without its prefix must not appear either.
      expect(hay.includes(created.ticket.slice(4))).toBe(false);
    }
  });
});
