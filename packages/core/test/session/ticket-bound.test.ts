import { describe, expect, it } from 'vitest';
import { createAesGcmCipher, staticKeys } from '@cloakroom/core';
import { dump, setup } from '../support/fixtures';
import { BODY_AT, parseBoundRecord } from '../../src/crypto/bound-layout';
import { boundMetaAad } from '../../src/crypto/format';

const SUBJECT = 'tb-subject-MARKER@example.com';
const CLAIM = 'tb-claim-MARKER';

// What an attacker holding a store dump AND every server key can read: the
// operator copy of a ticket-bound record (the outer layer of a two-layer one).
async function openWithServerKeys(ticketBound: boolean) {
  const ctx = await setup({ ticketBound });
  const { ticket, sessionId } = await ctx.cloakroom.create(SUBJECT, { secret: CLAIM });
  const resolved = await ctx.cloakroom.resolve(ticket);
  const keys = staticKeys({
    signing: [{ alg: 'EdDSA', privateKey: ctx.material.signing.privateJwk }],
    storage: [{ key: ctx.material.storage }],
    index: ctx.material.index,
  });
  const cipher = createAesGcmCipher({ keys });
  const [record] = (await dump(ctx.memory)).filter((r) => r.id === sessionId);
  if (!record) throw new Error('record missing');
  if (ticketBound) {
    // A ticket-bound record (format 2): the server keys open its operator copy only.
    const parts = parseBoundRecord(record.payload);
    if (!parts) throw new Error('not a ticket-bound record');
    const aad = boundMetaAad(record.id, record.subject, parts.nonce, parts.tag);
    const plain = Buffer.from(await cipher.open(parts.meta, aad));
    const metaEnd = 5 + plain.readUInt32BE(1);
    const meta = plain.toString('utf8', 5, metaEnd);
    const inner = parts.sealedBody.subarray(BODY_AT);
    const outer = plain.toString('latin1') + Buffer.from(record.payload).toString('latin1');
    return { outer, meta, inner, token: resolved?.token ?? 'missing', ctx, ticket };
  }
  const aad = Buffer.from(`cloakroom/session/v1\0${record.id}\0${record.subject}`);
  // Outer plaintext: 0x02 ‖ metadata length (u32 BE) ‖ metadata JSON ‖ inner bytes.
  const plain = Buffer.from(await cipher.open(record.payload, aad));
  expect(plain[0]).toBe(2);
  const metaEnd = 5 + plain.readUInt32BE(1);
  const meta = plain.toString('utf8', 5, metaEnd);
  const inner = plain.subarray(metaEnd);
  const outer = plain.toString('latin1');
  return { outer, meta, inner, token: resolved?.token ?? 'missing', ctx, ticket };
}

describe('ticket-bound sealing (defence in depth)', () => {
  it('SEC-02 a store dump plus every server key opens no token, claim or subject', async () => {
    const { outer, meta, inner, token } = await openWithServerKeys(true);
    expect(JSON.parse(meta)).toMatchObject({ k: 'live' }); // the outer layer did open…
    expect(outer.includes(token)).toBe(false); // …but holds no token,
    // The inner layer is random-looking bytes: leave it out of the JWT-shape scan.
    expect(inner.byteLength).toBeGreaterThan(100);
    expect(meta).not.toMatch(/eyJ[A-Za-z0-9_-]{10}/);
    expect(outer.includes(SUBJECT)).toBe(false); // no subject,
    expect(outer.includes(CLAIM)).toBe(false); // no claim.
  });

  it('with ticketBound: false the same attacker reads them (the opt-out is real)', async () => {
    const { outer, inner, token } = await openWithServerKeys(false);
    expect(inner.byteLength).toBe(0);
    expect(outer.includes(token)).toBe(true);
    expect(outer.includes(SUBJECT)).toBe(true);
  });

  it('operator functions keep working on the outer layer: list, revoke, rewrap', async () => {
    const { ctx, ticket } = await openWithServerKeys(true);
    const listed = await ctx.cloakroom.listSessions(SUBJECT, { subject: SUBJECT });
    expect(listed).toHaveLength(1);
    expect(await ctx.cloakroom.revokeSubject(SUBJECT, { subject: SUBJECT })).toBe(1);
    expect(await ctx.cloakroom.resolve(ticket)).toBeNull();
  });

  it('refresh and token renewal re-seal under the right ticket', async () => {
    const ctx = await setup({
      ticketBound: true,
      ttl: { idle: 3600_000, absolute: 7200_000, token: 600_000 },
    });
    const { ticket } = await ctx.cloakroom.create(SUBJECT, { secret: CLAIM });
    const next = await ctx.cloakroom.refresh(ticket);
    ctx.clock.advance(500_000); // token renewal on this resolve
    const s = await ctx.cloakroom.resolve(next?.ticket);
    expect(s?.claims).toEqual({ secret: CLAIM });
    ctx.clock.advance(60_000);
    expect((await ctx.cloakroom.resolve(next?.ticket))?.token).toBe(s?.token);
  });
});
