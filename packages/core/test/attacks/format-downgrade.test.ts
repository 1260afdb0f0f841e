// SEC-02 downgrade: an attacker with the storage key and store write access,
// but no ticket, writes a two-layer (format 1) record under the victim's id
// whose secrets sit in the storage layer as plaintext. A ticket-bound manager
// must refuse it (docs/security/ticket-binding.md, "Downgrade"). Real memory
// store, real keys, real sealing code.
import { createAesGcmCipher, createCloakroom } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { openBoundMetadata } from '../../src/crypto/bound-record';
import { recordAad } from '../../src/crypto/format';
import { decodeMetadata, encodePayload } from '../../src/crypto/payload-format';
import { AUDIENCE, ISSUER, keysFrom, setup } from '../support/fixtures';

const YEAR = 365 * 24 * 3_600_000;

async function forgeDowngrade(ctx: Awaited<ReturnType<typeof setup>>, sessionId: string) {
  const record = await ctx.memory.get(sessionId);
  if (record === null) throw new Error('missing record');
  // Everything below needs the storage key only: the operator copy gives a
  // usable kid and family; the forged secrets are the attacker's.
  const cipher = createAesGcmCipher({ keys: keysFrom(ctx.material) });
  const meta = decodeMetadata(
    await openBoundMetadata(cipher, record.payload, record.id, record.subject),
  );
  if (meta === undefined) throw new Error('no metadata');
  const forged = encodePayload({
    ...meta,
    abs: ctx.clock.t + YEAR,
    idle: ctx.clock.t + YEAR,
    inner: { sub: 'attacker', claims: { role: 'admin' }, token: 'forged.token.value' },
  });
  const payload = await cipher.seal(forged, recordAad(record.id, record.subject));
  expect(payload[0]).toBe(1); // a layer-1 seal: the two-layer path
  const replaced = await ctx.memory.replace(
    { ...record, payload, version: record.version + 1 },
    record.version,
  );
  expect(replaced).toBe(true);
}

describe('SEC-02 format downgrade by a keyed store writer', () => {
  it('SEC-02 a format-1 record with plaintext secrets under the victim id: resolve answers null (tampered), never the forged subject', async () => {
    const ctx = await setup();
    const { ticket, sessionId } = await ctx.cloakroom.create('victim', { role: 'user' });
    expect((await ctx.cloakroom.resolve(ticket))?.subject).toBe('victim');
    await forgeDowngrade(ctx, sessionId);
    expect(await ctx.cloakroom.resolve(ticket)).toBeNull();
    expect(ctx.events.at(-1)).toMatchObject({
      type: 'session.rejected',
      operation: 'resolve',
      reason: 'tampered',
    });
    // refresh refuses it too: no successor is minted from forged secrets.
    expect(await ctx.cloakroom.refresh(ticket)).toBeNull();
  });

  it('SEC-02 the same forged record still resolves on a manager with ticketBound off (the check is what refuses it)', async () => {
    const ctx = await setup();
    const { ticket, sessionId } = await ctx.cloakroom.create('victim', { role: 'user' });
    await forgeDowngrade(ctx, sessionId);
    const unbound = createCloakroom({
      store: ctx.memory,
      keys: keysFrom(ctx.material),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: ctx.clock.now,
      ticketBound: false,
    });
    expect((await unbound.resolve(ticket))?.subject).toBe('attacker');
  });

  it('SEC-02 a session created under ticketBound false stops resolving on a ticket-bound manager', async () => {
    const ctx = await setup({ ticketBound: false });
    const { ticket } = await ctx.cloakroom.create('alice', {});
    expect((await ctx.cloakroom.resolve(ticket))?.subject).toBe('alice');
    const bound = createCloakroom({
      store: ctx.memory,
      keys: keysFrom(ctx.material),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: ctx.clock.now,
    });
    expect(await bound.resolve(ticket)).toBeNull();
  });
});
