import { createDecipheriv, createHash } from 'node:crypto';
import {
  DecryptionFailed,
  generateTicket,
  isCloakroomError,
  openUnderTicket,
  sealUnderTicket,
  TicketMalformed,
} from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const enc = (s: string) => new TextEncoder().encode(s);

function openFails(ticket: string, sealed: Uint8Array, aad: Uint8Array): boolean {
  try {
    openUnderTicket(ticket, sealed, aad);
    return false;
  } catch (err) {
    return err instanceof DecryptionFailed;
  }
}

describe('sealUnderTicket / openUnderTicket', () => {
  it('round trips synchronously, for any plaintext and aad', () => {
    const ticket = generateTicket();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 500 }),
        fc.uint8Array({ maxLength: 64 }),
        (plain, aad) => {
          const sealed = sealUnderTicket(ticket, plain, aad);
          expect(sealed).toBeInstanceOf(Uint8Array);
          expect(sealed.byteLength).toBe(1 + 12 + plain.byteLength + 16);
          expect(Buffer.from(openUnderTicket(ticket, sealed, aad)).equals(Buffer.from(plain))).toBe(
            true,
          );
        },
      ),
    );
  });

  it('uses SHA-256(label ‖ ticket) and the documented layout (decrypted independently)', () => {
    const ticket = generateTicket();
    const successor = generateTicket();
    const aad = enc('sid');
    const sealed = sealUnderTicket(ticket, enc(successor), aad);
    expect(sealed[0]).toBe(2);
    const key = createHash('sha256').update(`cloakroom/ticket-seal/v2\0${ticket}`).digest();
    const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
    d.setAAD(Buffer.concat([Buffer.from([2]), aad]));
    d.setAuthTag(sealed.subarray(sealed.byteLength - 16));
    const out = Buffer.concat([d.update(sealed.subarray(13, sealed.byteLength - 16)), d.final()]);
    expect(out.toString()).toBe(successor);
    expect(Buffer.from(sealed).includes(Buffer.from(successor))).toBe(false);
  });

  it('SEC-10 a wrong ticket or a wrong aad fails to open', () => {
    const ticket = generateTicket();
    const sealed = sealUnderTicket(ticket, enc('successor'), enc('sid-A'));
    expect(openFails(generateTicket(), sealed, enc('sid-A'))).toBe(true);
    expect(openFails(ticket, sealed, enc('sid-B'))).toBe(true);
    expect(openFails(ticket, sealed, enc(''))).toBe(true);
    // A near-miss ticket (one character changed) fails too.
    const near = ticket.slice(0, 10) + (ticket[10] === 'A' ? 'B' : 'A') + ticket.slice(11);
    expect(openFails(near, sealed, enc('sid-A'))).toBe(true);
    expect(new TextDecoder().decode(openUnderTicket(ticket, sealed, enc('sid-A')))).toBe(
      'successor',
    );
  });

  it('SEC-09 every bit flip, truncation and extension fails to open', () => {
    const ticket = generateTicket();
    const aad = enc('sid');
    const sealed = sealUnderTicket(ticket, enc('cr1_successor-ticket'), aad);
    let opened = 0;
    for (let pos = 0; pos < sealed.byteLength; pos++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = sealed.slice();
        copy[pos] = (copy[pos] as number) ^ (1 << bit);
        if (!openFails(ticket, copy, aad)) opened++;
      }
    }
    expect(opened).toBe(0);
    for (let length = 0; length < sealed.byteLength; length++) {
      expect(openFails(ticket, sealed.subarray(0, length), aad)).toBe(true);
    }
    expect(openFails(ticket, new Uint8Array([...sealed, 0]), aad)).toBe(true);
  });

  it('SEC-11 each seal uses a fresh nonce', () => {
    const ticket = generateTicket();
    const nonces = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      nonces.add(
        Buffer.from(sealUnderTicket(ticket, enc('x'), enc('a')).subarray(1, 13)).toString('hex'),
      );
    }
    expect(nonces.size).toBe(10_000);
  });

  it('refuses to seal under something that is not a ticket (a guessable key)', () => {
    for (const bad of ['', 'password', 'cr1_short', 42 as never]) {
      expect(() => sealUnderTicket(bad, enc('x'), enc('a'))).toThrow(TicketMalformed);
    }
  });

  it('SEC-09 fuzz: openUnderTicket only returns bytes or throws a CloakroomError', () => {
    const ticket = generateTicket();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 120 }),
          fc.uint8Array({ maxLength: 120 }).map((b) => new Uint8Array([1, ...b])),
        ),
        fc.oneof(fc.constant(ticket), fc.string({ maxLength: 60 })),
        fc.uint8Array({ maxLength: 20 }),
        (bytes, t, aad) => {
          try {
            openUnderTicket(t, bytes, aad);
            throw new Error('random bytes opened');
          } catch (err) {
            expect(isCloakroomError(err)).toBe(true);
            expect(err).toBeInstanceOf(DecryptionFailed);
          }
        },
      ),
      { numRuns: 3000 },
    );
    for (const bad of [undefined, null, 'x', 12, {}]) {
      expect(openFails(ticket, bad as never, enc('a'))).toBe(true);
      expect(openFails(bad as never, sealUnderTicket(ticket, enc('x'), enc('a')), enc('a'))).toBe(
        true,
      );
    }
  });
});
