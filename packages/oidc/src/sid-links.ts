// Which Cloakroom sessions a provider session (`sid`) opened, so that a
// back-channel logout naming that `sid` revokes them at once, on every
// instance (SEC-34). At sign-in the vault writes one link per session into the
// marker store, grouped under the (issuer, sid) pair; a logout lists the
// group and revokes each session through the manager (which drops it from
// every near cache and emits `session.revoked`).
//
// A link's payload is the session id (SHA-256 of the ticket, already in audit
// events) and the subject, sealed with AES-256-GCM under the vault's link key
// and bound to its group: the store sees neither the subject nor the sid, and
// never a ticket or token. A link expires with the session's absolute expiry.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { VaultConfig } from './config';

/** The marker name of a provider session: the ended-sid marker and the group of its links. */
export const sidMarker = (issuer: string, sid: string) => `sid\u0000${issuer}\u0000${sid}`;

interface SidLink {
  readonly sessionId: string;
  readonly subject: string;
}

const IV = 12;
const TAG = 16;

function seal(key: Uint8Array, group: string, link: SidLink): Uint8Array {
  const iv = randomBytes(IV);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  // The group as associated data: a link copied under another sid does not open.
  cipher.setAAD(Buffer.from(group, 'utf8'));
  const body = Buffer.concat([
    cipher.update(JSON.stringify({ i: link.sessionId, s: link.subject }), 'utf8'),
    cipher.final(),
  ]);
  return new Uint8Array(Buffer.concat([iv, body, cipher.getAuthTag()]));
}

function open(key: Uint8Array, group: string, bytes: Uint8Array): SidLink | undefined {
  if (bytes.byteLength < IV + TAG + 2) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV));
    decipher.setAAD(Buffer.from(group, 'utf8'));
    decipher.setAuthTag(bytes.subarray(bytes.byteLength - TAG));
    const text = Buffer.concat([
      decipher.update(bytes.subarray(IV, bytes.byteLength - TAG)),
      decipher.final(),
    ]).toString('utf8');
    const v = JSON.parse(text) as { i?: unknown; s?: unknown };
    return typeof v.i === 'string' && typeof v.s === 'string'
      ? { sessionId: v.i, subject: v.s }
      : undefined;
  } catch {
    // Sealed under another vault secret, or altered: not ours to act on.
    return undefined;
  }
}

/** At sign-in: remember that provider session `sid` opened Cloakroom session `sessionId`. */
export async function linkSession(
  c: VaultConfig,
  sid: string,
  link: SidLink & { readonly expiresAt: number },
): Promise<void> {
  if (c.markers.link === undefined) return; // a marker store without links: the sid marker alone
  const group = sidMarker(c.o.issuer, sid);
  await c.markers.link(group, link.sessionId, seal(c.linkKey, group, link), link.expiresAt);
}

/**
 * At a back-channel logout by `sid`: revoke every Cloakroom session that
 * provider session opened, then drop the links. The sid alone names them, as
 * the ended-sid marker does. @returns how many sessions were removed.
 */
export async function revokeLinked(c: VaultConfig, sid: string): Promise<number> {
  if (c.markers.linked === undefined) return 0;
  const group = sidMarker(c.o.issuer, sid);
  let count = 0;
  for (const bytes of await c.markers.linked(group)) {
    const link = open(c.linkKey, group, bytes);
    if (link === undefined) continue;
    const identity = { subject: link.subject, issuer: c.o.issuer };
    // The provider speaks for this user here: act as them (the default policy's rule).
    if (await c.cloakroom.revokeSession(identity, link.sessionId, identity)) count++;
  }
  await c.markers.unlink?.(group);
  return count;
}
