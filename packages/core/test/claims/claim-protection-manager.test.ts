import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  ConfigInvalid,
  claimProtection,
  generateSecret,
  openProtectedClaims,
} from '@cloakroom/core';
import { setup } from '../support/fixtures';

describe('SEC-25 claim protection through the session manager', () => {
  it('SEC-25 sensitive claims are encrypted and lookup claims hashed in issued tokens; the session keeps the originals', async () => {
    const encryptionKey = generateSecret();
    const protector = claimProtection({
      encrypt: ['email', 'ssn'],
      hash: ['customerId'],
      encryptionKey,
      hashKey: generateSecret(),
    });
    const { cloakroom } = await setup({ claimProtection: protector });
    const claims = {
      email: 'alice-MARKER@example.com',
      ssn: '078-05-1120',
      customerId: 'cust-MARKER-42',
      role: 'editor',
    };
    const { ticket } = await cloakroom.create('alice', claims);
    const session = await cloakroom.resolve(ticket);
    expect(session?.claims).toEqual(claims);
    const token = session?.token ?? '';
    const visible = decodeJwt(token);
    expect(visible.role).toBe('editor');
    expect(visible.customerId).toBe(protector.hashValue('cust-MARKER-42', 'customerId'));
    const decoded = Buffer.from(token.split('.')[1] ?? '', 'base64url').toString();
    for (const secret of ['alice-MARKER', '078-05-1120', 'cust-MARKER-42'])
      expect(decoded.includes(secret)).toBe(false);
    // A resource server holding the claim key restores them after verifying.
    const verified = await cloakroom.verify(token);
    const opened = await openProtectedClaims(verified.payload, { encryptionKey });
    expect(opened).toMatchObject({ email: claims.email, ssn: claims.ssn });
  });

  it("SEC-12 a claim key that reuses another purpose's key is refused", async () => {
    const ctx = await setup();
    const reuse = claimProtection({ encrypt: ['email'], encryptionKey: ctx.material.index });
    const { cloakroom } = await setup({ claimProtection: reuse }, ctx.material);
    await expect(cloakroom.create('u', { email: 'x' })).rejects.toBeInstanceOf(ConfigInvalid);
  });
});
