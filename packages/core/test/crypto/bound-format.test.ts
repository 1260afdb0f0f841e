// Pins the ticket-bound record (src/crypto/format.ts, layer 3) byte for
// byte, as format.test.ts pins layers 1 and 2: every label, AAD, KDF input,
// and whole records sealed by this code, which must keep opening.
import { createHash, createHmac } from 'node:crypto';
import { DecryptionFailed, createAesGcmCipher } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BODY_AT, NONCE_AT, SALT_AT, parseBoundRecord } from '../../src/crypto/bound-layout';
import { OpenedSecrets } from '../../src/crypto/bound-secrets';
import {
  BOUND_AAD_LABEL,
  BOUND_META_AAD_LABEL,
  BOUND_RECORD_FORMAT,
  DATA_KEY_BYTES,
  MASK_KEY_LABEL,
  MASK_SALT_BYTES,
  STORAGE_MASK_LABEL,
  TICKET_MASK_LABEL,
  boundAad,
  boundMetaAad,
  maskKeyOf,
  recordStorageMask,
  storageMask,
  ticketMask,
  ticketSealKey,
} from '../../src/crypto/format';
import { createRecordSealing } from '../../src/crypto/record-sealing';
import { parseTicket } from '../../src/ticket/ticket-shape';

const hex = (text: string) => Buffer.from(text, 'hex');
const ascii = (text: string) => Buffer.from(text, 'ascii');
const NUL = hex('00');

const BOUND_V1 = hex('636c6f616b726f6f6d2f626f756e642f763100'); // "cloakroom/bound/v1\0"
const BOUND_META_V1 = hex('636c6f616b726f6f6d2f626f756e642d6d6574612f763100'); // "cloakroom/bound-meta/v1\0"
const MASK_KEY_V1 = hex('636c6f616b726f6f6d2f7265636f72642d6d61736b2d6b65792f7631'); // "cloakroom/record-mask-key/v1"
const RECORD_MASK_V1 = hex('636c6f616b726f6f6d2f7265636f72642d6d61736b2f763100'); // "cloakroom/record-mask/v1\0"
const TICKET_MASK_V1 = hex('636c6f616b726f6f6d2f7469636b65742d6d61736b2f763100'); // "cloakroom/ticket-mask/v1\0"

const TICKET = 'cr1_CkdJeZ7-PfMJo1H7jT2MA9bJ0YdJCeNS9HYWmfyRYUQ';
const ID = '-6uw_wdXL1Y44vtGu8r-hhHw6QUzsXOb_7qLff2AtEI';
const SUBJECT = 'S'.repeat(43);
const storageKey = new Uint8Array(32).map((_, i) => i + 1);
const META = {
  k: 'live',
  kid: 'kid-1',
  tokenExp: 1767270600000,
  fam: 'fam-1',
  created: 1767268800000,
  seen: 1767268800000,
  idle: 1767270600000,
  abs: 1767312000000,
};
const SECRETS = { sub: 'vector-subject', claims: { role: 'vector' }, token: 'vector.token.value' };

// Sealed on 2026-12-03 by this code (storage key bytes 1..32 under id
// "k-2026", the ticket above): a ticket-bound record, and the two-layer
// record every earlier release wrote for the same session.
const RECORDS = {
  bound: hex(
    [
      '028353f74702b5b3945fc9a9a5b4e36a4450432f6ee61601206b89db734a8f0648b19f13eaec94dc413d44a57f00b338',
      '68b5b1a349638b6b1ab2c7d9db00000105f77fae87f18fd1bfe4f6ed884b3d219ca880eb87baab5c2e2a9f0b81ded3fd',
      '03d05e174d3b2a2a8e066f5b88a26803422edcae1731aec4ed7fb7899193feda207a999bc66c67dcb25030d25ac5543c',
      '7429e9d881e9ea25e5e45afe87f6cc053e90f38e0a98d463d0ebba82ace6f33e86d68d5d4c614096cb23b7302a33320f',
      '5542e17bbd7e8b322e00b7b6e237de33b8a5eec24784fd62ce237535a59a44997d1121a6ab326a9bf1ef0f0376b3130f',
      'a56d37dbd1b9e8f9e35493107f7a74fc2372b5a2486f52ffb77aea9976c1e020138efbc1de301b32bd7d33ac882c9df2',
      'f151730be33bdf97429cd4ad11e04b2ffd93fa2f646807048c8d28de0c5723f3170d199a38e10101066b2d32303236b8',
      '8e8cd13cc7997fc662db2c00a0c4f4c39cd3f17789bb1b25d5b1e234d07b639805385a9059c8d585e5403d71d45cf32c',
      'df5db8a5392833eb0c393e2098023727be6c63ed87a05bcbe92de922c265a1c5a5c26efc1f06758b0756c08cb76f59b1',
      '6dfeb1e8f7f4363e11aeea9ad69c82eac3c72cbedfc6dddbf83db1f046d27f06ac7b2c1857647de8baed15bc383f599f',
      '29e6cc6af9ea925e7a1881a95acb7acee2d9167ec8c0e34bfe5a26d08e8153535df32583fd2314',
    ].join(''),
  ),
  twoLayer: hex(
    [
      '0101066b2d323032367de607c1b4e0cad6ea467e3da2c4e65f8283bd31db91d4743de4850f13925b7441a8177bea81de',
      '910b1cd3020e11b0694ea79909464b7f551c5ac4a98f13f33f91688ec068cc40f8fce00402c3ebb964560384fa087e8f',
      '54c1209382374dd656abe7da747bb506979383795c8f69a5092619e28082e303de31036965cd051c5905933c82277d79',
      '6bdd4ac36949fd3837c40f4ff3b61e806ffe945d27ab028e128b6651a5c957c76d9dfb50d03b2f73bf3c59847355842e',
      '2e27425ecc26cb487efdf1e1a3825792cb516284a41fd1bd85067e43f1e9c8b51f64871d1acef83ab469d2ed39320e9c',
      'ad36b3accedc7d0b1549176b556773d2ea66371cd0a98c61228679b8588003c56e16f9404b03edbf288bcf1e4c657c96',
      '05d211737c32c94a70b964dcfc47',
    ].join(''),
  ),
};

const primary = { id: 'k-2026', key: storageKey, state: 'primary' as const };
const cipher = createAesGcmCipher({
  keys: {
    storageKeys: () => ({
      primary,
      keys: [primary],
      get: (kid: string) => (kid === primary.id ? primary : undefined),
    }),
  },
});
const record = (payload: Uint8Array) => ({
  id: ID,
  subject: SUBJECT,
  expiresAt: 0,
  version: 1,
  payload,
});

describe('ticket-bound record format: labels, AADs and KDF inputs byte for byte', () => {
  it('SEC-10 the labels are the published bytes', () => {
    expect(ascii(BOUND_AAD_LABEL)).toEqual(BOUND_V1);
    expect(ascii(BOUND_META_AAD_LABEL)).toEqual(BOUND_META_V1);
    expect(ascii(MASK_KEY_LABEL)).toEqual(MASK_KEY_V1);
    expect(ascii(STORAGE_MASK_LABEL)).toEqual(RECORD_MASK_V1);
    expect(ascii(TICKET_MASK_LABEL)).toEqual(TICKET_MASK_V1);
    expect([BOUND_RECORD_FORMAT, MASK_SALT_BYTES, DATA_KEY_BYTES, BODY_AT]).toEqual([
      2, 16, 32, 65,
    ]);
  });

  it('SEC-10 boundAad = label id 0 subject index; boundMetaAad adds 0, the body nonce and tag', () => {
    expect(Buffer.from(boundAad(ID, SUBJECT))).toEqual(
      Buffer.concat([BOUND_V1, ascii(ID), NUL, ascii(SUBJECT)]),
    );
    const nonce = hex('0102030405060708090a0b0c');
    const tag = hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff');
    expect(Buffer.from(boundMetaAad(ID, SUBJECT, nonce, tag))).toEqual(
      Buffer.concat([BOUND_META_V1, ascii(ID), NUL, ascii(SUBJECT), NUL, nonce, tag]),
    );
    expect(boundAad('ab', 'c')).not.toEqual(boundAad('a', 'bc'));
  });

  it('SEC-12 the mask key is HMAC-SHA-512 of its label under the storage key (64 bytes: the whole first SHA-256 block of Ms), never the key itself', () => {
    const expected = createHmac('sha512', storageKey).update(MASK_KEY_V1).digest();
    expect(maskKeyOf(storageKey).byteLength).toBe(64);
    expect(Buffer.from(maskKeyOf(storageKey))).toEqual(expected);
    expect(Buffer.from(maskKeyOf(storageKey))).not.toEqual(Buffer.from(storageKey));
  });

  it('SEC-02 Ms = SHA-256(maskKey ‖ u32 n ‖ label ‖ salt ‖ u8 |id| ‖ id ‖ u8 |s| ‖ s ‖ nonce ‖ tag ‖ meta)', () => {
    const maskKey = maskKeyOf(storageKey);
    const salt = hex('000102030405060708090a0b0c0d0e0f');
    const nonce = hex('a0a1a2a3a4a5a6a7a8a9aaab');
    const tag = hex('b0b1b2b3b4b5b6b7b8b9babbbcbdbebf');
    const meta = hex('01020304');
    const rest = Buffer.concat([
      RECORD_MASK_V1,
      salt,
      Buffer.of(43),
      ascii(ID),
      Buffer.of(43),
      ascii(SUBJECT),
      nonce,
      tag,
      meta,
    ]);
    const n = Buffer.alloc(4);
    n.writeUInt32BE(rest.byteLength);
    // The key is exactly the first 64-byte block; the length opens the second.
    expect(maskKey.byteLength).toBe(64);
    const expected = createHash('sha256')
      .update(Buffer.concat([maskKey, n, rest]))
      .digest();
    const ms = (id: string, s: string, n: Uint8Array, t: Uint8Array) =>
      Buffer.from(storageMask(maskKey, salt, id, s, n, t, meta), 'latin1');
    expect(ms(ID, SUBJECT, nonce, tag)).toEqual(expected);
    // Twice in a row (the scratch buffer is reused) and for another record: stable, distinct.
    expect(ms(ID, SUBJECT, nonce, tag)).toEqual(expected);
    expect(ms(SUBJECT, ID, nonce, tag)).not.toEqual(expected);
    // Another body (its nonce or its tag) under the same header: another mask (SEC-10).
    expect(ms(ID, SUBJECT, tag.subarray(0, 12), tag)).not.toEqual(expected);
    expect(ms(ID, SUBJECT, nonce, hex('00'.repeat(16)))).not.toEqual(expected);
  });

  it('SEC-02 Ms is the same bytes from its parts and from a stored record (resolve reads at offsets), for any id, subject, body and metadata size', () => {
    const maskKey = maskKeyOf(storageKey);
    const reference = (
      salt: Uint8Array,
      id: string,
      s: string,
      nonce: Uint8Array,
      tag: Uint8Array,
      meta: Uint8Array,
    ) => {
      const idBytes = Buffer.from(id, 'utf8');
      const sBytes = Buffer.from(s, 'utf8');
      const rest = Buffer.concat([
        RECORD_MASK_V1,
        salt,
        Buffer.of(idBytes.byteLength),
        idBytes,
        Buffer.of(sBytes.byteLength),
        sBytes,
        nonce,
        tag,
        meta,
      ]);
      const n = Buffer.alloc(4);
      n.writeUInt32BE(rest.byteLength);
      return createHash('sha256')
        .update(Buffer.concat([maskKey, n, rest]))
        .digest();
    };
    const text = fc.string({ unit: 'binary', maxLength: 60 });
    const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max });
    fc.assert(
      fc.property(
        text,
        text,
        bytes(16, 16),
        bytes(12, 12),
        bytes(16, 16),
        bytes(0, 600),
        bytes(1, 3000),
        (id, s, salt, nonce, tag, body, meta) => {
          const expected = reference(salt, id, s, nonce, tag, meta);
          expect(
            Buffer.from(storageMask(maskKey, salt, id, s, nonce, tag, meta), 'latin1'),
          ).toEqual(expected);
          // A record laid out as stored: salt and nonce at their offsets, the tag ends the body, meta follows.
          const bodyEnd = BODY_AT + body.byteLength + 16;
          const record = new Uint8Array(bodyEnd + meta.byteLength).fill(0xee);
          record.set(salt, SALT_AT);
          record.set(nonce, NONCE_AT);
          record.set(body, BODY_AT);
          record.set(tag, bodyEnd - 16);
          record.set(meta, bodyEnd);
          const ms = recordStorageMask(maskKey, record, SALT_AT, NONCE_AT, bodyEnd, id, s);
          expect(Buffer.from(ms, 'latin1')).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
    // Over 255 UTF-8 bytes (here 86 characters of 3 bytes): refused by both, as a caller bug.
    const long = '\u20ac'.repeat(86);
    const salt = new Uint8Array(16);
    const record = new Uint8Array(BODY_AT + 16 + 4);
    expect(() =>
      storageMask(maskKey, salt, long, 'x', new Uint8Array(12), new Uint8Array(16), record),
    ).toThrow(RangeError);
    expect(() =>
      recordStorageMask(maskKey, record, SALT_AT, NONCE_AT, BODY_AT + 16, 'x', long),
    ).toThrow(RangeError);
    // Offsets that leave the record: refused, never read past it.
    expect(() =>
      recordStorageMask(maskKey, record, SALT_AT, NONCE_AT, record.byteLength + 1, 'x', 'y'),
    ).toThrow(RangeError);
  });

  it('SEC-02 Mt = SHA-256("cloakroom/ticket-mask/v1" 0 ‖ ticket): not the session id, not the layer-2 key', () => {
    const expected = createHash('sha256')
      .update(Buffer.concat([TICKET_MASK_V1, ascii(TICKET)]))
      .digest();
    expect(Buffer.from(ticketMask(TICKET), 'latin1')).toEqual(expected);
    expect(Buffer.from(ticketMask(TICKET), 'latin1').toString('base64url')).not.toBe(ID);
    expect(Buffer.from(ticketMask(TICKET), 'latin1')).not.toEqual(ticketSealKey(TICKET));
  });
});

describe('ticket-bound record format: records sealed by this code keep opening', () => {
  const sealing = createRecordSealing(cipher, true);
  const ticket = parseTicket(TICKET);

  it('SEC-10 layout: format 2, salt, W, nonce, body length, body, then a layer-1 seal under k-2026', () => {
    const parts = parseBoundRecord(RECORDS.bound);
    expect(parts).toBeDefined();
    expect(RECORDS.bound[0]).toBe(2);
    expect([...(parts?.meta.subarray(0, 3) ?? [])]).toEqual([1, 1, 6]);
    expect(cipher.keyIdOf(RECORDS.bound)).toBe('k-2026');
  });

  it('SEC-02 with the ticket the pinned record opens to its metadata and secrets, in one AEAD', async () => {
    const payload = await sealing.open(record(RECORDS.bound), ticket);
    expect(payload).toMatchObject(META);
    if (payload.k !== 'live' || !(payload.inner instanceof OpenedSecrets))
      throw new Error('not opened');
    expect(payload.inner.secrets).toEqual(SECRETS);
    expect(sealing.openSecrets(ticket, ID, payload)).toEqual(SECRETS);
  });

  it('SEC-10 without the ticket only the metadata opens; under another record nothing does', async () => {
    const payload = await sealing.open(record(RECORDS.bound));
    expect(payload).toMatchObject(META);
    if (payload.k !== 'live') throw new Error('not live');
    expect(() => sealing.openSecrets(ticket, ID, payload)).toThrow(DecryptionFailed);
    await expect(
      sealing.open({ ...record(RECORDS.bound), subject: 'T'.repeat(43) }, ticket),
    ).rejects.toBeInstanceOf(DecryptionFailed);
    await expect(
      sealing.open({ ...record(RECORDS.bound), subject: 'T'.repeat(43) }),
    ).rejects.toBeInstanceOf(DecryptionFailed);
  });

  it('SEC-10 the two-layer record of the same session still opens (records written before keep resolving)', async () => {
    expect(RECORDS.twoLayer[0]).toBe(1);
    const payload = await sealing.open(record(RECORDS.twoLayer), ticket);
    expect(payload).toMatchObject(META);
    if (payload.k !== 'live') throw new Error('not live');
    expect(payload.inner).toBeInstanceOf(Uint8Array);
    expect(sealing.openSecrets(ticket, ID, payload)).toEqual(SECRETS);
    // Its next write with the ticket moves it to the ticket-bound format.
    const moved = await sealing.seal(ID, SUBJECT, payload);
    expect(moved[0]).toBe(2);
    const again = await sealing.open(record(moved), ticket);
    expect(sealing.openSecrets(ticket, ID, again as never)).toEqual(SECRETS);
  });

  it('SEC-13 every single flipped byte of the pinned record fails to open with the ticket', async () => {
    for (let i = 0; i < RECORDS.bound.byteLength; i++) {
      const bad = RECORDS.bound.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      await expect(sealing.open(record(bad), ticket)).rejects.toBeInstanceOf(DecryptionFailed);
    }
  });
});
