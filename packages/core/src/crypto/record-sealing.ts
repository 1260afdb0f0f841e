// Sealing session records, in whichever format fits the cipher: the
// ticket-bound record (format 2, one AEAD per resolve) when the cipher is
// the default one, the two-layer format otherwise (and for tombstones and
// sessions that are not ticket-bound). Both formats always open, but with
// a ticket a ticket-bound manager takes only secrets the ticket unsealed
// (SEC-02 downgrade). Formats: crypto/format.ts. Internal: session/context.ts exposes this as `Sealing`.
import { type RecordMaskKeys, recordMaskKeysOf } from './aes-gcm-cipher';
import { isBoundRecord } from './bound-layout';
import {
  checkedBodyEnd,
  newDataKey,
  openBoundBody,
  openBoundMetadata,
  sealBoundRecord,
} from './bound-record';
import { storageKeyIdAt } from './storage-layout';
import { LockedSecrets, OpenedSecrets } from './bound-secrets';
import { DATA_KEY_BYTES, innerAad, recordAad, ticketMask } from './format';
import {
  type LivePayload,
  type SessionPayload,
  type SessionSecrets,
  decodeMetadata,
  decodePayload,
  encodeBound,
  encodePayload,
  isSecrets,
} from './payload-format';
import { openUnderParsedTicket, sealUnderParsedTicket } from './ticket-seal';
import type { Cipher } from '../contracts/cipher';
import type { SessionRecord } from '../contracts/store';
import { DecryptionFailed, InvalidArgument } from '../errors';
import type { Ticket } from '../ticket/ticket-shape';

/** The four sealing operations of a session manager (see `Sealing` in session/context.ts). */
export interface RecordSealing {
  readonly cipher: Cipher;
  seal(id: string, subjectIdx: string, payload: SessionPayload): Promise<Uint8Array>;
  /**
   * {@link seal} for the hot path: the sealed bytes themselves when nothing
   * needs waiting for (a ticket-bound record whose primary storage key is in
   * memory), else a promise. May throw synchronously; the same errors as `seal`.
   */
  sealNow(
    id: string,
    subjectIdx: string,
    payload: SessionPayload,
  ): Uint8Array | Promise<Uint8Array>;
  /**
   * Opens and decodes; throws DecryptionFailed for anything that is not a
   * valid payload of this record. With the ticket, a ticket-bound record
   * opens in one AEAD and its secrets come with it; without, only its
   * operator metadata opens.
   */
  open(record: SessionRecord, ticket?: Ticket): Promise<SessionPayload>;
  /**
   * {@link open} for the hot path: the payload itself when it opens without
   * waiting (a ticket-bound record whose storage key is in memory), else a
   * promise. May throw synchronously; the same checks and errors as `open`.
   */
  openNow(record: SessionRecord, ticket?: Ticket): SessionPayload | Promise<SessionPayload>;
  /**
   * Wraps the secrets for a record: bound to the ticket when ticket-bound.
   * `dataKey`, when given, is a fresh secret 32-byte key from the CSPRNG
   * that only these secrets will be sealed under (otherwise the seal draws
   * one); it is ignored outside the ticket-bound record format.
   */
  sealSecrets(
    ticket: Ticket,
    id: string,
    secrets: SessionSecrets,
    dataKey?: Uint8Array,
  ): Uint8Array | SessionSecrets | OpenedSecrets;
  /** Unwraps the secrets of a live payload; throws DecryptionFailed when they do not open with this ticket. */
  openSecrets(ticket: Ticket, id: string, payload: LivePayload): SessionSecrets;
}

// Transient plaintext: Buffer.from takes it from Node's allocation pool.
const encodeJson = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value));
// Bytes that just passed an AES-GCM open are ours: a plain decode, no fatal scan.
function decodeSecrets(bytes: Uint8Array): SessionSecrets {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString());
  } catch (cause) {
    throw new DecryptionFailed('sealed session secrets are not valid', { cause });
  }
  if (!isSecrets(value)) throw new DecryptionFailed('sealed session secrets are not valid');
  return value;
}

const invalid = () => new DecryptionFailed('sealed session payload is not valid');
const unbound = () => new DecryptionFailed('session secrets are not sealed under the ticket');

/**
 * The record sealing of one manager.
 *
 * - `ticketBound` false: secrets live inside the storage layer (format 1).
 *   A ticket-bound manager refuses such records when opened with a ticket
 *   (DecryptionFailed): a storage-key holder could forge them.
 * - the default cipher (`createAesGcmCipher`): new live sessions are written
 *   as ticket-bound records; two-layer records written before still open,
 *   and move to the new format on their next write with the ticket.
 * - any other Cipher: the two-layer format (the mask needs a storage-key PRF
 *   that the `Cipher` contract does not offer).
 *
 * @example
 * ```ts
 * const sealing = createRecordSealing(createAesGcmCipher({ keys }), true);
 * const payload = await sealing.open(record, ticket); // one AEAD open
 * ```
 */
export function createRecordSealing(cipher: Cipher, ticketBound: boolean): RecordSealing {
  const masks: RecordMaskKeys | undefined = ticketBound ? recordMaskKeysOf(cipher) : undefined;
  // Two-layer inner bytes opened with their ticket (so a re-seal with no new
  // secrets, e.g. a touch, writes the record in the ticket-bound format).
  const upgrades = new WeakMap<Uint8Array, OpenedSecrets>();

  async function openTwoLayer(record: SessionRecord): Promise<SessionPayload> {
    const plain = await cipher.open(record.payload, recordAad(record.id, record.subject));
    const payload = decodePayload(plain);
    if (payload === undefined) throw invalid();
    return payload;
  }

  // SEC-02 (downgrade): a ticket-bound manager takes a two-layer live
  // payload only when its secrets are ticket-sealed bytes. Plaintext secrets
  // there could have been written by anyone holding the storage key (no
  // ticket needed), e.g. a forged record under a victim's id.
  async function openTwoLayerWithTicket(record: SessionRecord): Promise<SessionPayload> {
    const payload = await openTwoLayer(record);
    if (ticketBound && payload.k === 'live' && !(payload.inner instanceof Uint8Array)) {
      throw unbound();
    }
    return payload;
  }

  async function openBoundOperator(record: SessionRecord): Promise<SessionPayload> {
    const plain = await openBoundMetadata(cipher, record.payload, record.id, record.subject);
    const meta = decodeMetadata(plain);
    if (meta === undefined) throw invalid();
    return { ...meta, inner: new LockedSecrets(record.payload) };
  }

  // With the ticket: synchronous when the key source has the storage key in
  // memory (the usual case), else after one await for the key lookup.
  function openBound(
    m: RecordMaskKeys,
    record: SessionRecord,
    ticket: Ticket | undefined,
  ): SessionPayload | Promise<SessionPayload> {
    if (ticket === undefined) return openBoundOperator(record);
    const mt = ticketMask(ticket);
    const bodyEnd = checkedBodyEnd(record.payload);
    const keyId = storageKeyIdAt(record.payload, bodyEnd);
    const maskKey = m.forKeyIdNow(keyId);
    if (maskKey !== undefined) return openBoundWith(maskKey, record, bodyEnd, mt);
    return m.forKeyId(keyId).then((found) => openBoundWith(found, record, bodyEnd, mt));
  }

  function openBoundWith(
    maskKey: Uint8Array,
    record: SessionRecord,
    bodyEnd: number,
    mt: string,
  ): SessionPayload {
    const { plain, dataKey } = openBoundBody(
      maskKey,
      record.payload,
      bodyEnd,
      record.id,
      record.subject,
      mt,
    );
    // One frame, one JSON.parse: decodePayload checks the secrets' shape too.
    const payload = decodePayload(plain);
    if (payload?.k !== 'live' || !isSecrets(payload.inner)) throw invalid();
    (payload as { inner: LivePayload['inner'] }).inner = new OpenedSecrets(
      payload.inner,
      mt,
      record.id,
      dataKey,
    );
    return payload;
  }

  function openNow(
    record: SessionRecord,
    ticket?: Ticket,
  ): SessionPayload | Promise<SessionPayload> {
    if (masks !== undefined && isBoundRecord(record.payload)) {
      return openBound(masks, record, ticket);
    }
    return ticket === undefined ? openTwoLayer(record) : openTwoLayerWithTicket(record);
  }

  function sealNow(
    id: string,
    subjectIdx: string,
    payload: SessionPayload,
  ): Uint8Array | Promise<Uint8Array> {
    if (payload.k === 'live' && masks !== undefined) {
      const inner = payload.inner;
      const opened =
        inner instanceof OpenedSecrets
          ? inner
          : inner instanceof Uint8Array
            ? upgrades.get(inner)
            : undefined;
      if (opened !== undefined) {
        if (opened.id !== id) throw new InvalidArgument('secrets sealed for another session');
        return sealBoundRecord(
          masks,
          id,
          subjectIdx,
          encodeBound(payload, opened.secrets),
          opened.ticketMask,
          opened.dataKey ?? newDataKey(),
        );
      }
    }
    if (payload.k === 'live' && payload.inner instanceof LockedSecrets) {
      throw new InvalidArgument(
        'a ticket-bound record read without its ticket cannot be re-sealed',
      );
    }
    // OpenedSecrets without the mask keys cannot happen (sealSecrets makes them only
    // when masks exist); encodePayload would throw on one (toJSON) rather than leak it.
    return cipher.seal(encodePayload(payload), recordAad(id, subjectIdx));
  }

  return {
    cipher,
    sealNow,
    async seal(id, subjectIdx, payload) {
      return sealNow(id, subjectIdx, payload);
    },
    openNow,
    async open(record, ticket) {
      return openNow(record, ticket);
    },
    sealSecrets(ticket, id, secrets, dataKey) {
      if (!ticketBound) return secrets;
      if (masks !== undefined) {
        if (dataKey !== undefined && dataKey.byteLength !== DATA_KEY_BYTES) {
          throw new InvalidArgument('a data key is 32 bytes');
        }
        return new OpenedSecrets(secrets, ticketMask(ticket), id, dataKey);
      }
      return sealUnderParsedTicket(ticket, encodeJson(secrets), innerAad(id));
    },
    openSecrets(ticket, id, payload) {
      const inner = payload.inner;
      if (inner instanceof OpenedSecrets) {
        if (inner.id !== id) throw new DecryptionFailed('sealed session secrets are not valid');
        return inner.secrets;
      }
      if (inner instanceof LockedSecrets) {
        // Read without the ticket (an operator path): the body opens only in
        // `open(record, ticket)`. Fail closed rather than open a second time.
        throw new DecryptionFailed('ticket-bound secrets were read without their ticket');
      }
      if (!(inner instanceof Uint8Array)) {
        // Secrets in the storage layer only: see openTwoLayerWithTicket.
        if (ticketBound) throw unbound();
        return inner;
      }
      const secrets = decodeSecrets(openUnderParsedTicket(ticket, inner, innerAad(id)));
      if (masks !== undefined) {
        upgrades.set(inner, new OpenedSecrets(secrets, ticketMask(ticket), id, undefined));
      }
      return secrets;
    },
  };
}
