// Test support: rewrite a live record the way the two-layer format (layers
// 1 and 2 of src/crypto/format.ts) writes it, as every release before the
// ticket-bound record did. Uses the real sealing code, given the ticket.
import { type KeyProvider, type SessionRecord, createAesGcmCipher } from '@cloakroom/core';
import { OpenedSecrets } from '../../src/crypto/bound-secrets';
import { innerAad, recordAad } from '../../src/crypto/format';
import { encodePayload } from '../../src/crypto/payload-format';
import { createRecordSealing } from '../../src/crypto/record-sealing';
import { sealUnderTicket } from '../../src/crypto/ticket-seal';
import { parseTicket } from '../../src/ticket/ticket-shape';

/** Store access the forge needs (the memory store satisfies it). */
export interface ForgeStore {
  get(id: string): Promise<SessionRecord | null>;
  replace(record: SessionRecord, expectedVersion: number): Promise<boolean>;
}

/**
 * The two-layer bytes of the live session behind `ticket`, bound to
 * `subjectIndex` (the record's own unless given).
 */
export async function twoLayerPayload(
  keys: KeyProvider,
  record: SessionRecord,
  ticket: string,
  subjectIndex = record.subject,
): Promise<Uint8Array> {
  const cipher = createAesGcmCipher({ keys });
  const payload = await createRecordSealing(cipher, true).open(record, parseTicket(ticket));
  if (payload.k !== 'live' || !(payload.inner instanceof OpenedSecrets)) {
    throw new Error('forge: not a live ticket-bound record');
  }
  const inner = sealUnderTicket(
    ticket,
    Buffer.from(JSON.stringify(payload.inner.secrets)),
    innerAad(record.id),
  );
  return cipher.seal(encodePayload({ ...payload, inner }), recordAad(record.id, subjectIndex));
}

/** Rewrites the record of `ticket` in the two-layer format (optionally under another subject index). */
export async function rewriteAsTwoLayer(
  store: ForgeStore,
  keys: KeyProvider,
  ticket: string,
  sessionId: string,
  subjectIndex?: string,
): Promise<SessionRecord> {
  const record = await store.get(sessionId);
  if (record === null) throw new Error('forge: missing record');
  const next: SessionRecord = {
    ...record,
    subject: subjectIndex ?? record.subject,
    version: record.version + 1,
    payload: await twoLayerPayload(keys, record, ticket, subjectIndex),
  };
  if (!(await store.replace(next, record.version))) throw new Error('forge: lost a race');
  return next;
}
