// Pins the ticket-bound record (src/crypto/format.ts, layer 3) byte for
// byte, as format.test.ts pins layers 1 and 2: every label, AAD, KDF input,
// and whole records sealed by this code, which must keep opening.
import { createHash, createHmac } from 'node:crypto';
import { DecryptionFailed, createAesGcmCipher } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { BODY_AT, parseBoundRecord } from '../../src/crypto/bound-layout';
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
      '021a19813f24c3385100d0a9c937ea94ba2ff77c72cf20b95606e9749ea196625238a7d48d507f708d79cf4942236ce0',
      '8fdb09a900ec4b766bb5c25cf5000001053ac26325b9df8d203b50f842e13ac0e9044d6966045b093895a0ca86f55216',
      '4da953a1b7082c9d3cbe9e4fa5dd55b8aba0a52fb57e10b21502a76af31e9fa7a5d6fc401abfefcf81b88850ec8305df',
      'd854cf26d64de8e321bdd016d7782841818cb89ae98d8feb40cb78935946adce7515bd0ac48bb055856695db679ea725',
      '14cd627c07c29484906346a237b68e06f0ed375067341abed765f945bf4d0bc5275fc641866ec3c049fee888ca535342',
      '533be5d3954ee68156e62197187bdbce2734cd35c0f29136de77752852b1b14bf4acf415fcb6bc3fcfa592180903be87',
      '1ea7ff47c43bc56693892a0c6c1e5d4fc96f458a8a4ebb4a3a9826e1a2bfed52f81a1217d30f0101066b2d3230323658',
      'cee0f261ae70d7c028f7f7401df12b9a26a20760c86ae295f6ed05bc5f5c53a159cf1a1145492d75f883671c17245d7f',
      '6fdb84db118df9cbab06a6061d6c6159b0a353941a3ae1c46bd16098f728639884bdcf8c3b18e962bb4ce428a99e6a29',
      '264877bb575ae5b3be50f68c95d1bed8e949214d696cbd92d7d85b0a56ca8236951ac57048ebebd738f0c22ce935ef6c',
      '04ec2e81bca2db1bb55786757b8097672094fdb3d9c7d93016c2b16df869a2980b9a99e7ece08f',
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

  it('SEC-12 the mask key is HMAC-SHA-256 of its label under the storage key, never the key itself', () => {
    const expected = createHmac('sha256', storageKey).update(MASK_KEY_V1).digest();
    expect(Buffer.from(maskKeyOf(storageKey))).toEqual(expected);
    expect(Buffer.from(maskKeyOf(storageKey))).not.toEqual(Buffer.from(storageKey));
  });

  it('SEC-02 Ms = SHA-256(maskKey ‖ u32 n ‖ label ‖ salt ‖ u8 |id| ‖ id ‖ u8 |s| ‖ s ‖ meta)', () => {
    const maskKey = maskKeyOf(storageKey);
    const salt = hex('000102030405060708090a0b0c0d0e0f');
    const meta = hex('01020304');
    const rest = Buffer.concat([
      RECORD_MASK_V1,
      salt,
      Buffer.of(43),
      ascii(ID),
      Buffer.of(43),
      ascii(SUBJECT),
      meta,
    ]);
    const n = Buffer.alloc(4);
    n.writeUInt32BE(rest.byteLength);
    const expected = createHash('sha256')
      .update(Buffer.concat([maskKey, n, rest]))
      .digest();
    expect(Buffer.from(storageMask(maskKey, salt, ID, SUBJECT, meta), 'latin1')).toEqual(expected);
    // Twice in a row (the scratch buffer is reused) and for another record: stable, distinct.
    expect(Buffer.from(storageMask(maskKey, salt, ID, SUBJECT, meta), 'latin1')).toEqual(expected);
    expect(Buffer.from(storageMask(maskKey, salt, SUBJECT, ID, meta), 'latin1')).not.toEqual(
      expected,
    );
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
