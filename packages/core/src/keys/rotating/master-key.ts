// The master key (KEK) a rotating key set is sealed under: 32 raw bytes from
// env, or a KMS-backed wrap/unwrap pair. Both are normalised to one shape so
// the document code never cares which it has.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { concat, toBase64Url, utf8 } from '../../lib/encoding';
import { ConfigInvalid, DecryptionFailed } from '../../errors';
import { jwkThumbprint } from '../jwk-thumbprint';
import { import256BitKey } from '../key-import';

/**
 * A KMS- or HSM-backed master key: Cloakroom never sees its bytes. `wrap`
 * encrypts a 32-byte data key, `unwrap` returns it; `id` names the master
 * key (e.g. a KMS key ARN or alias) and is bound into the sealed document.
 */
export interface ExternalMasterKey {
  /** Printable id, `[A-Za-z0-9._:/+=@-]{1,200}`, not secret (stored in clear in the document header). */
  readonly id: string;
  /** Encrypt a 32-byte data key under the master key (e.g. KMS Encrypt). */
  wrap(dataKey: Uint8Array): Promise<Uint8Array>;
  /** Return the 32-byte data key that `wrap` produced; throw when it cannot (wrong key, tampered). */
  unwrap(wrapped: Uint8Array): Promise<Uint8Array>;
}

/**
 * A master key: 32 bytes (raw, or base64url as read from an environment
 * variable), or an {@link ExternalMasterKey}.
 */
export type MasterKeyInput = Uint8Array | string | ExternalMasterKey;

/** A validated master key. Internal. */
export interface MasterKey {
  readonly id: string;
  wrap(dataKey: Uint8Array): Promise<Uint8Array>;
  unwrap(wrapped: Uint8Array): Promise<Uint8Array>;
}

const EXTERNAL_ID = /^[A-Za-z0-9._:/+=@-]{1,200}$/;
const NONCE = 12;
const TAG = 16;

/** Validate a {@link MasterKeyInput}; throws ConfigInvalid naming only `label`. */
export function toMasterKey(input: unknown, label: string): MasterKey {
  if (typeof input === 'string' || input instanceof Uint8Array) return rawMasterKey(input, label);
  if (typeof input !== 'object' || input === null) {
    throw new ConfigInvalid(
      `${label} must be 32 bytes, a base64url string or { id, wrap, unwrap }`,
    );
  }
  const ext = input as Partial<ExternalMasterKey>;
  if (typeof ext.id !== 'string' || !EXTERNAL_ID.test(ext.id)) {
    throw new ConfigInvalid(`${label}: id must match [A-Za-z0-9._:/+=@-]{1,200}`);
  }
  if (typeof ext.wrap !== 'function' || typeof ext.unwrap !== 'function') {
    throw new ConfigInvalid(`${label}: wrap and unwrap must be functions`);
  }
  const { id, wrap, unwrap } = ext as ExternalMasterKey;
  return {
    id,
    wrap: async (dataKey) => checkBytes(await wrap.call(ext, dataKey), 1, 1024, 'wrap'),
    unwrap: async (wrapped) => {
      let out: Uint8Array;
      try {
        out = await unwrap.call(ext, wrapped);
      } catch (cause) {
        throw new DecryptionFailed(`master key "${id}" could not unwrap the key-set data key`, {
          cause,
        });
      }
      return checkBytes(out, 32, 32, 'unwrap');
    },
  };
}

function checkBytes(value: unknown, min: number, max: number, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || value.byteLength < min || value.byteLength > max) {
    throw new DecryptionFailed(
      `master key ${what} returned ${min}..${max} bytes of the wrong size`,
    );
  }
  return new Uint8Array(value);
}

// A raw master key wraps the data key with AES-256-GCM itself. Its id is a
// prefix of its RFC 7638 thumbprint: stable, public, and it reveals nothing
// about the key but lets an instance tell "wrong master key" from tampering.
function rawMasterKey(input: Uint8Array | string, label: string): MasterKey {
  const key = import256BitKey(input, label);
  const id = `mk_${jwkThumbprint({ kty: 'oct', k: toBase64Url(key) }).slice(0, 22)}`;
  const aad = utf8(`cloakroom/key-set/data-key/v1\0${id}`);
  return {
    id,
    async wrap(dataKey) {
      const nonce = randomBytes(NONCE);
      const gcm = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG });
      gcm.setAAD(aad);
      const body = concat(gcm.update(dataKey), gcm.final());
      return concat(nonce, body, gcm.getAuthTag());
    },
    async unwrap(wrapped) {
      if (wrapped.byteLength !== NONCE + 32 + TAG) {
        throw new DecryptionFailed('the key-set data key is malformed');
      }
      try {
        const gcm = createDecipheriv('aes-256-gcm', key, wrapped.subarray(0, NONCE), {
          authTagLength: TAG,
        });
        gcm.setAAD(aad);
        gcm.setAuthTag(wrapped.subarray(wrapped.byteLength - TAG));
        const out = concat(
          gcm.update(wrapped.subarray(NONCE, wrapped.byteLength - TAG)),
          gcm.final(),
        );
        return out;
      } catch (cause) {
        throw new DecryptionFailed('the key-set data key failed to unwrap under the master key', {
          cause,
        });
      }
    },
  };
}
