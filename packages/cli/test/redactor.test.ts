// The redactor every line of output passes through (defence in depth under
// the rule that no message carries a secret in the first place).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor } from '../src/secrets';

// Secrets as the CLI meets them: base64url keys, passwords of URL-safe characters.
const secretArb = fc
  .stringMatching(/^[A-Za-z0-9_-]{8,64}$/)
  .filter((s) => !'[redacted]'.includes(s)); // the mark itself reads "redacted"

describe('createRedactor', () => {
  it('SEC-27 no registered secret survives in any text that embeds it, whatever else it holds', () => {
    fc.assert(
      fc.property(
        fc.array(secretArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 5 }),
        (secrets, filler) => {
          const r = createRedactor();
          for (const s of secrets) r.add(s);
          // Each secret embedded between filler pieces, and the secrets glued to each other.
          const text = filler.join(secrets[0] as string) + secrets.join('') + filler.join(' ');
          const out = r.redact(text);
          for (const s of secrets) expect(out).not.toContain(s);
        },
      ),
    );
  });

  it('a secret that contains another is removed whole, not around the shorter one', () => {
    const r = createRedactor();
    r.add('BBBBBBBB');
    r.add('xxxxBBBBBBBByyyy');
    expect(r.redact('key=xxxxBBBBBBBByyyy;')).toBe('key=[redacted];');
  });

  it('text without a secret is unchanged; short strings are never registered', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const r = createRedactor();
        r.add('short');
        r.add(undefined);
        expect(r.redact(text)).toBe(text);
      }),
    );
  });
});
