// Pins every label, AAD and header byte of the sealed session formats
// (src/crypto/format.ts), and opens vectors sealed by the code before those
// bytes moved there: changing any of them would strand existing records.
import { createHash } from 'node:crypto';
import { DecryptionFailed, createAesGcmCipher } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import {
  INNER_AAD_LABEL,
  NONCE_BYTES,
  RECORD_AAD_LABEL,
  STORAGE_ALG_AES_256_GCM,
  STORAGE_FORMAT_VERSION,
  SUCCESSOR_AAD_LABEL,
  TAG_BYTES,
  TICKET_KEY_LABEL,
  TICKET_SEAL_VERSION,
  innerAad,
  recordAad,
  successorAad,
  ticketSealKey,
} from '../../src/crypto/format';
import { openUnderTicket } from '../../src/crypto/ticket-seal';

const hex = (text: string) => Buffer.from(text, 'hex');
const ascii = (text: string) => Buffer.from(text, 'ascii');
const NUL = hex('00');

// The labels as bytes, written out so no string escape can hide a change.
const SESSION_V1 = hex('636c6f616b726f6f6d2f73657373696f6e2f763100'); // "cloakroom/session/v1\0"
const INNER_V1 = hex('636c6f616b726f6f6d2f696e6e65722f763100'); // "cloakroom/inner/v1\0"
const SUCCESSOR_V1 = hex('636c6f616b726f6f6d2f737563636573736f722f763100'); // "cloakroom/successor/v1\0"
const TICKET_SEAL_V2 = hex('636c6f616b726f6f6d2f7469636b65742d7365616c2f763200'); // "cloakroom/ticket-seal/v2\0"

// Sealed on 2026-12-03 by the code before the format moved to format.ts
// (aes-gcm-cipher.ts, ticket-seal.ts, payload-format.ts, session/context.ts,
// session/refresh.ts at 686fdd5), with storage key bytes 1..32 under id "k-2026".
const VECTORS = {
  ticket: 'cr1_CkdJeZ7-PfMJo1H7jT2MA9bJ0YdJCeNS9HYWmfyRYUQ',
  id: '-6uw_wdXL1Y44vtGu8r-hhHw6QUzsXOb_7qLff2AtEI',
  subjectIndex: 'S'.repeat(43),
  outer: hex(
    '0101066b2d3230323679bb51c4f9eaf081cc7e834971f81071dab67257e744a36ac3cc59202617ea9adaa69aaae4f5b96f423508',
  ),
  inner: hex(
    '0218049c312071bb12765735243ff996d039bdbac58cbbb4f54aaa4a62db6ad7968011b9a4472b4631b62f50',
  ),
  successor: hex(
    '02a89f43e8d3312e36dc2728da41a8f66c8a67278596059bd10b69a596f3db0242b5f6eef9103a36771323d751cb23f7',
  ),
};
const storageKey = new Uint8Array(32).map((_, i) => i + 1);
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

describe('sealed format: labels and AADs byte for byte', () => {
  const { id, subjectIndex } = VECTORS;

  it('SEC-10 the labels are the published bytes', () => {
    expect(ascii(RECORD_AAD_LABEL)).toEqual(SESSION_V1);
    expect(ascii(INNER_AAD_LABEL)).toEqual(INNER_V1);
    expect(ascii(SUCCESSOR_AAD_LABEL)).toEqual(SUCCESSOR_V1);
    expect(ascii(TICKET_KEY_LABEL)).toEqual(TICKET_SEAL_V2);
  });

  it('SEC-10 recordAad = "cloakroom/session/v1" 0 id 0 subject index', () => {
    expect(Buffer.from(recordAad(id, subjectIndex))).toEqual(
      Buffer.concat([SESSION_V1, ascii(id), NUL, ascii(subjectIndex)]),
    );
    // The separator keeps (id, index) pairs apart even when their concatenation is equal.
    expect(recordAad('ab', 'c')).not.toEqual(recordAad('a', 'bc'));
  });

  it('SEC-10 innerAad and successorAad = their label and the session id; the two never coincide', () => {
    expect(Buffer.from(innerAad(id))).toEqual(Buffer.concat([INNER_V1, ascii(id)]));
    expect(Buffer.from(successorAad(id))).toEqual(Buffer.concat([SUCCESSOR_V1, ascii(id)]));
    expect(innerAad(id)).not.toEqual(successorAad(id));
  });

  it('SEC-02 the ticket layer key is SHA-256 of "cloakroom/ticket-seal/v2" 0 and the ticket, never of the bare ticket', () => {
    const expected = createHash('sha256')
      .update(Buffer.concat([TICKET_SEAL_V2, ascii(VECTORS.ticket)]))
      .digest();
    expect(ticketSealKey(VECTORS.ticket)).toEqual(expected);
    // The bare hash is the session id: the key must differ from it.
    expect(ticketSealKey(VECTORS.ticket).toString('base64url')).not.toBe(VECTORS.id);
  });

  it('SEC-11 header constants: storage v1 / AES-256-GCM, ticket layer v2, 96-bit nonce, 128-bit tag', () => {
    expect([STORAGE_FORMAT_VERSION, STORAGE_ALG_AES_256_GCM, TICKET_SEAL_VERSION]).toEqual([
      1, 1, 2,
    ]);
    expect([NONCE_BYTES, TAG_BYTES]).toEqual([12, 16]);
    expect([...VECTORS.outer.subarray(0, 3)]).toEqual([1, 1, 6]);
    expect(VECTORS.outer.subarray(3, 9).toString('latin1')).toBe('k-2026');
    expect(VECTORS.outer.byteLength).toBe(9 + 12 + 'outer plaintext'.length + 16);
    expect(VECTORS.inner[0]).toBe(2);
    expect(VECTORS.inner.byteLength).toBe(1 + 12 + 'inner plaintext'.length + 16);
  });
});

describe('sealed format: data sealed before the de-duplication still opens', () => {
  const { ticket, id, subjectIndex } = VECTORS;
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

  it('SEC-10 the storage layer opens under recordAad, and under no other record', async () => {
    expect(text(await cipher.open(VECTORS.outer, recordAad(id, subjectIndex)))).toBe(
      'outer plaintext',
    );
    await expect(cipher.open(VECTORS.outer, recordAad(id, 'T'.repeat(43)))).rejects.toBeInstanceOf(
      DecryptionFailed,
    );
  });

  it('SEC-10 the ticket layer opens the secrets under innerAad and the successor under successorAad, not crossed', () => {
    expect(text(openUnderTicket(ticket, VECTORS.inner, innerAad(id)))).toBe('inner plaintext');
    expect(text(openUnderTicket(ticket, VECTORS.successor, successorAad(id)))).toBe(
      'successor plaintext',
    );
    expect(() => openUnderTicket(ticket, VECTORS.inner, successorAad(id))).toThrow(
      DecryptionFailed,
    );
    expect(() => openUnderTicket(ticket, VECTORS.successor, innerAad(id))).toThrow(
      DecryptionFailed,
    );
  });
});
