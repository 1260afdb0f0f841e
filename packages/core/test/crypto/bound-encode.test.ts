// The write side of the ticket-bound record made cheaper: the body's JSON
// is the metadata's with `inner` appended (one stringify of the metadata),
// and `create` hands sealSecrets the data key it drew with the ticket.
// Both must leave the record exactly as before.
import { randomBytes } from 'node:crypto';
import { createAesGcmCipher, sessionIdOf } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordMaskKeysOf } from '../../src/crypto/aes-gcm-cipher';
import { openBoundRecord } from '../../src/crypto/bound-record';
import { ticketMask } from '../../src/crypto/format';
import { type LivePayload, encodeBound } from '../../src/crypto/payload-format';
import { createRecordSealing } from '../../src/crypto/record-sealing';
import { generateTicketAndKey } from '../../src/ticket/ticket';

const payloadArb = fc.record(
  {
    k: fc.constant('live' as const),
    inner: fc.constant(new Uint8Array(0)),
    kid: fc.string({ maxLength: 40 }),
    ext: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    tokenExp: fc.integer({ min: 0, max: 2 ** 45 }),
    fam: fc.string({ minLength: 1, maxLength: 30 }),
    created: fc.integer({ min: 0, max: 2 ** 45 }),
    seen: fc.integer({ min: 0, max: 2 ** 45 }),
    idle: fc.integer({ min: 0, max: 2 ** 45 }),
    abs: fc.integer({ min: 0, max: 2 ** 45 }),
    label: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
  },
  { requiredKeys: ['k', 'inner', 'kid', 'tokenExp', 'fam', 'created', 'seen', 'idle', 'abs'] },
);
const secretsArb = fc.record(
  {
    sub: fc.string({ minLength: 1, maxLength: 50 }),
    claims: fc.dictionary(
      fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__'),
      fc.jsonValue({ maxDepth: 2 }),
      { maxKeys: 5 },
    ),
    token: fc.string({ maxLength: 200 }),
    refreshToken: fc.string({ maxLength: 40 }),
    idToken: fc.string({ maxLength: 40 }),
  },
  { requiredKeys: ['sub', 'claims', 'token'] },
);

const frame = (json: string) => {
  const bytes = Buffer.from(json);
  const out = Buffer.alloc(5 + bytes.byteLength);
  out[0] = 2;
  out.writeUInt32BE(bytes.byteLength, 1);
  bytes.copy(out, 5);
  return out;
};

describe('encodeBound', () => {
  it('the body is byte for byte the JSON of { ...metadata, inner: secrets }, the meta that of the metadata', () => {
    fc.assert(
      fc.property(payloadArb, secretsArb, (payload, secrets) => {
        const { inner: _, ...meta } = payload as LivePayload;
        const out = encodeBound(payload as LivePayload, secrets);
        expect(Buffer.from(out.body)).toEqual(frame(JSON.stringify({ ...meta, inner: secrets })));
        expect(Buffer.from(out.meta)).toEqual(frame(JSON.stringify(meta)));
      }),
      { numRuns: 300 },
    );
  });

  it('secrets that cannot be serialized throw (nothing half-written)', () => {
    const payload = {
      k: 'live',
      inner: new Uint8Array(0),
      kid: 'k',
      tokenExp: 1,
      fam: 'f',
      created: 1,
      seen: 1,
      idle: 2,
      abs: 3,
    } as LivePayload;
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => encodeBound(payload, { sub: 's', token: 't', claims: cyclic })).toThrow(TypeError);
  });
});

describe('sealSecrets with the data key drawn beside the ticket', () => {
  const key = { id: 'k1', key: randomBytes(32), state: 'primary' as const };
  const cipher = createAesGcmCipher({
    keys: {
      storageKeys: () => ({
        primary: key,
        keys: [key],
        get: (id: string) => (id === 'k1' ? key : undefined),
      }),
    },
  });
  const sealing = createRecordSealing(cipher, true);
  const masks = recordMaskKeysOf(cipher);
  if (masks === undefined) throw new Error('default cipher has mask keys');
  const payloadOf = (inner: LivePayload['inner']): LivePayload => ({
    k: 'live',
    inner,
    kid: 'kid',
    tokenExp: 1,
    fam: 'fam',
    created: 1,
    seen: 1,
    idle: 2,
    abs: 3,
  });

  it('SEC-02 the record is sealed under exactly that key, and opens with the ticket', async () => {
    const { ticket, dataKey } = generateTicketAndKey();
    const id = sessionIdOf(ticket);
    const given = Uint8Array.from(dataKey);
    const inner = sealing.sealSecrets(
      ticket,
      id,
      { sub: 'u', claims: { a: 1 }, token: 't' },
      dataKey,
    );
    const sealed = await sealing.seal(id, 'subject-index', payloadOf(inner));
    const opened = await openBoundRecord(masks, sealed, id, 'subject-index', ticketMask(ticket));
    expect(Buffer.from(opened.dataKey)).toEqual(Buffer.from(given));
    const payload = await sealing.open(
      { id, subject: 'subject-index', expiresAt: 0, version: 1, payload: sealed },
      ticket,
    );
    expect(payload.k === 'live' && sealing.openSecrets(ticket, id, payload)).toEqual({
      sub: 'u',
      claims: { a: 1 },
      token: 't',
    });
  });

  it('without a key, every seal draws a fresh one', async () => {
    const { ticket } = generateTicketAndKey();
    const id = sessionIdOf(ticket);
    const keys = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const inner = sealing.sealSecrets(ticket, id, { sub: 'u', claims: {}, token: 't' });
      const sealed = await sealing.seal(id, 's', payloadOf(inner));
      keys.add(
        Buffer.from(
          (await openBoundRecord(masks, sealed, id, 's', ticketMask(ticket))).dataKey,
        ).toString('hex'),
      );
    }
    expect(keys.size).toBe(20);
  });

  it('a data key of the wrong size is refused', () => {
    const { ticket } = generateTicketAndKey();
    expect(() =>
      sealing.sealSecrets(
        ticket,
        sessionIdOf(ticket),
        { sub: 'u', claims: {}, token: 't' },
        new Uint8Array(16),
      ),
    ).toThrow(/32 bytes/);
  });
});
