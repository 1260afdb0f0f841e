// Properties of the ticket-bound record (src/crypto/bound-record.ts and
// record-sealing.ts) under fast-check: round trips, single-byte tampering,
// wrong tickets, and chains of rewraps without the ticket.
import { randomBytes } from 'node:crypto';
import {
  DecryptionFailed,
  type StorageKey,
  createAesGcmCipher,
  generateTicket,
  sessionIdOf,
} from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordMaskKeysOf } from '../../src/crypto/aes-gcm-cipher';
import { NONCE_AT, parseBoundRecord } from '../../src/crypto/bound-layout';
import { rewrapBoundRecord } from '../../src/crypto/bound-record';
import { OpenedSecrets } from '../../src/crypto/bound-secrets';
import type { LivePayload } from '../../src/crypto/payload-format';
import { createRecordSealing } from '../../src/crypto/record-sealing';
import { type Ticket, parseTicket } from '../../src/ticket/ticket-shape';

/** A key ring whose primary the test moves: rotation without any ticket. */
function ring() {
  const keys: StorageKey[] = [];
  let primary: StorageKey;
  const rotate = () => {
    primary = { id: `k${keys.length}`, key: randomBytes(32), state: 'primary' };
    keys.push(primary);
  };
  rotate();
  const cipher = createAesGcmCipher({
    keys: {
      storageKeys: () => ({
        primary,
        keys,
        get: (id: string) => keys.find((k) => k.id === id),
      }),
    },
  });
  return { cipher, rotate, primaryId: () => primary.id };
}

const meta = fc.record({
  kid: fc.string({ maxLength: 40 }),
  tokenExp: fc.integer({ min: 0, max: 2 ** 45 }),
  fam: fc.string({ minLength: 1, maxLength: 30 }),
  created: fc.integer({ min: 0, max: 2 ** 45 }),
  seen: fc.integer({ min: 0, max: 2 ** 45 }),
  idle: fc.integer({ min: 0, max: 2 ** 45 }),
  abs: fc.integer({ min: 0, max: 2 ** 45 }),
  label: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
});
const secrets = fc.record({
  sub: fc.string({ minLength: 1, maxLength: 100 }),
  claims: fc.dictionary(
    fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__'),
    fc.oneof(fc.string(), fc.integer(), fc.boolean()),
    { maxKeys: 6 },
  ),
  token: fc.string({ maxLength: 400 }).map((t) => `tok.MARKER.${t}`),
});
const subjectIndex = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('base64url'));

type Meta = typeof meta extends fc.Arbitrary<infer M> ? M : never;

function live(m: Meta) {
  const { label, ...rest } = m;
  return { k: 'live' as const, ...rest, ...(label === undefined ? {} : { label }) };
}

async function sealed(
  sealing: ReturnType<typeof createRecordSealing>,
  ticket: Ticket,
  subject: string,
  m: Meta,
  s: { sub: string; claims: Record<string, unknown>; token: string },
) {
  const id = sessionIdOf(ticket);
  const payload = { ...live(m), inner: sealing.sealSecrets(ticket, id, s) } as LivePayload;
  const bytes = await sealing.seal(id, subject, payload);
  return { id, record: { id, subject, expiresAt: 0, version: 1, payload: bytes } };
}

describe('ticket-bound record properties', () => {
  it('SEC-02 any metadata and secrets: one open with the ticket gives both back; without it, the metadata only', async () => {
    const { cipher } = ring();
    const sealing = createRecordSealing(cipher, true);
    await fc.assert(
      fc.asyncProperty(meta, secrets, subjectIndex, async (m, s, subject) => {
        const ticket = parseTicket(generateTicket());
        const { id, record } = await sealed(sealing, ticket, subject, m, s);
        expect(record.payload[0]).toBe(2);
        const opened = await sealing.open(record, ticket);
        expect(opened).toMatchObject(live(m));
        if (opened.k !== 'live' || !(opened.inner instanceof OpenedSecrets)) throw new Error('no');
        expect(sealing.openSecrets(ticket, id, opened)).toEqual(s);
        const operator = await sealing.open(record);
        expect(operator).toMatchObject(live(m));
        expect(JSON.stringify({ ...operator, inner: undefined })).not.toContain('tok.MARKER.');
      }),
      { numRuns: 60 },
    );
  });

  it('SEC-13 any single changed byte, truncation or another ticket: the open fails with DecryptionFailed', async () => {
    const { cipher } = ring();
    const sealing = createRecordSealing(cipher, true);
    await fc.assert(
      fc.asyncProperty(
        meta,
        secrets,
        subjectIndex,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.nat(),
        async (m, s, subject, at, mask, cut) => {
          const ticket = parseTicket(generateTicket());
          const { record } = await sealed(sealing, ticket, subject, m, s);
          const bad = record.payload.slice();
          const i = at % bad.byteLength;
          bad[i] = (bad[i] as number) ^ mask;
          await expect(sealing.open({ ...record, payload: bad }, ticket)).rejects.toBeInstanceOf(
            DecryptionFailed,
          );
          const short = record.payload.subarray(0, cut % record.payload.byteLength);
          await expect(sealing.open({ ...record, payload: short }, ticket)).rejects.toBeInstanceOf(
            DecryptionFailed,
          );
          const other = parseTicket(generateTicket());
          await expect(sealing.open(record, other)).rejects.toBeInstanceOf(DecryptionFailed);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('SEC-14 any number of rotations and rewraps without the ticket: the body never changes and the ticket still opens it', async () => {
    await fc.assert(
      fc.asyncProperty(
        meta,
        secrets,
        subjectIndex,
        fc.integer({ min: 1, max: 5 }),
        async (m, s, subject, rotations) => {
          const keys = ring();
          const sealing = createRecordSealing(keys.cipher, true);
          const masks = recordMaskKeysOf(keys.cipher);
          if (masks === undefined) throw new Error('the default cipher has mask keys');
          const ticket = parseTicket(generateTicket());
          const { id, record } = await sealed(sealing, ticket, subject, m, s);
          const body = Buffer.from(
            parseBoundRecord(record.payload)?.sealedBody.subarray(NONCE_AT) ?? [],
          );
          let payload = record.payload;
          for (let r = 0; r < rotations; r++) {
            keys.rotate();
            payload = await rewrapBoundRecord(keys.cipher, masks, payload, id, subject);
            expect(keys.cipher.keyIdOf(payload)).toBe(keys.primaryId());
            expect(
              Buffer.from(parseBoundRecord(payload)?.sealedBody.subarray(NONCE_AT) ?? []),
            ).toEqual(body);
          }
          const opened = await sealing.open({ ...record, payload }, ticket);
          if (opened.k !== 'live') throw new Error('not live');
          expect(sealing.openSecrets(ticket, id, opened)).toEqual(s);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('SEC-02 ticket-bound secrets never serialize: JSON.stringify of an opened payload throws', async () => {
    const { cipher } = ring();
    const sealing = createRecordSealing(cipher, true);
    const ticket = parseTicket(generateTicket());
    const inner = sealing.sealSecrets(ticket, sessionIdOf(ticket), {
      sub: 's',
      claims: {},
      token: 't',
    });
    expect(inner).toBeInstanceOf(OpenedSecrets);
    expect(() => JSON.stringify({ inner })).toThrow(TypeError);
  });
});
