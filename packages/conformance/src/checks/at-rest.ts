import {
  createCloakroom,
  generateSecret,
  generateSigningKey,
  type SessionStore,
  staticKeys,
} from '@cloakroom/core';
import { ConformanceFailure, ensure, type SessionStoreCheck, withStore } from '../harness';
import { randomId } from '../records';

/** Every form in which a secret could leak into a dump: as is, and in the encodings stores like to use. */
function forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [secret, bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')];
}

/**
 * Drives the real session manager over the store, then reads the backend
 * through `inspect` and looks for anything that must never be at rest.
 */
async function driveAndDump(
  store: SessionStore,
  inspect: (store: SessionStore) => Promise<ReadonlyArray<Uint8Array | string>>,
  now: (() => number) | undefined,
  ticketBound: boolean,
): Promise<void> {
  const marker = `cloakroom-marker-${randomId()}`;
  const subject = `subject-${marker}@example.com`;
  const keys = staticKeys({
    signing: [{ alg: 'EdDSA', privateKey: (await generateSigningKey()).privateJwk }],
    storage: [{ key: generateSecret() }],
    index: generateSecret(),
  });
  const manager = createCloakroom({
    store,
    keys,
    issuer: 'https://issuer.conformance.test',
    audience: 'https://api.conformance.test',
    ticketBound,
    ...(now ? { clock: now } : {}),
  });
  const secrets: { what: string; value: string }[] = [
    { what: 'the claim marker', value: marker },
    { what: 'the plaintext subject', value: subject },
  ];
  const created = await manager.create(subject, { note: marker, nested: { deep: marker } });
  secrets.push({ what: 'a ticket', value: created.ticket });
  const resolved = await manager.resolve(created.ticket);
  ensure(
    resolved !== null,
    'the manager could not resolve a session it just created over this store',
  );
  secrets.push({ what: 'a token', value: resolved.token });
  // The JOSE header segment is public (alg, kid, typ); the claims and signature segments are not.
  for (const part of resolved.token.split('.').slice(1))
    secrets.push({ what: 'a token segment', value: part });
  const refreshed = await manager.refresh(created.ticket);
  ensure(refreshed !== null, 'the manager could not refresh a session over this store');
  secrets.push({ what: 'a refreshed ticket', value: refreshed.ticket });
  const again = await manager.resolve(refreshed.ticket);
  ensure(again !== null, 'the manager could not resolve a refreshed session over this store');
  secrets.push({ what: 'a refreshed token', value: again.token });
  await manager.create(`${subject}-second`, { note: marker });

  const dump = await inspect(store);
  ensure(
    Array.isArray(dump) && dump.length > 0,
    'inspect returned nothing after sessions were written',
  );
  const haystacks = dump.map((entry) =>
    typeof entry === 'string' ? Buffer.from(entry, 'utf8') : Buffer.from(entry),
  );
  for (const secret of secrets) {
    for (const form of forms(secret.value)) {
      if (haystacks.some((h) => h.includes(form))) {
        throw new ConformanceFailure(
          `SEC-02: ${secret.what} was found in the backend (as written by the store)`,
        );
      }
    }
  }
  // Closes the store too; the suite's own close afterwards is a repeat, which the contract allows.
  await manager.close();
}

export const atRestCheck: SessionStoreCheck = {
  id: 'at-rest',
  name: 'SEC-02 at rest: after create/resolve/refresh through createCloakroom, the backend holds no ticket, token, claim marker or plaintext subject',
  appliesTo: (options) => options.inspect !== undefined,
  async run(factory, options) {
    const inspect = options.inspect;
    ensure(inspect, 'the at-rest check needs the inspect option');
    for (const ticketBound of [true, false]) {
      await withStore(factory, options, (store) =>
        driveAndDump(store, inspect, options.now, ticketBound),
      );
    }
  },
};
