// SEC-27: nothing a diagnostics subscriber receives may carry a ticket,
// token, claim value, raw subject, key or payload bytes.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StoreUnavailable, allowAll, createCloakroom, rotatingKeys } from '@cloakroom/core';
import { createMemoryKeySetStore, createMemoryStore } from '@cloakroom/store-memory';
import { byteSpellings } from '../support/leaks';
import { AUDIENCE, Clock, ISSUER, dump, setup, spyStore } from '../support/fixtures';
import { record } from './record';

const SUBJECT = 'subject-MARKER-9f3e';
const CLAIM = 'claim-value-MARKER-71ab';

function scan(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((s) => s.length >= 8 && text.includes(s));
}

// The message copies at every event, plus what an error carries (code and message).
function published(seen: ReturnType<typeof record>['seen']): string {
  return JSON.stringify(
    seen.map((s) => {
      const { error, ...rest } = s.message;
      const e = error as { code?: unknown; message?: unknown } | undefined;
      return { ...rest, error: e === undefined ? undefined : [e.code, e.message] };
    }),
  );
}

describe('diagnostics messages hold no secret', () => {
  it('SEC-27 every message over a full lifecycle (static keys, failures included) is free of tickets, tokens, claims, subjects, keys and payloads', async () => {
    const { cloakroom, spy, material } = await setup({ policy: allowAll() });
    const r = record();
    const secrets: string[] = [SUBJECT, CLAIM];
    const a = await cloakroom.create(SUBJECT, { note: CLAIM }, { label: 'laptop' });
    secrets.push(a.ticket, a.ticket.slice(4));
    const session = await cloakroom.resolve(a.ticket);
    secrets.push(session?.token as string, ...(session?.token.split('.') ?? []));
    const next = await cloakroom.refresh(a.ticket);
    secrets.push(next?.ticket as string);
    const renewed = await cloakroom.resolve(next?.ticket);
    secrets.push(renewed?.token as string);
    await cloakroom.resolve(a.ticket); // rotated
    await cloakroom.resolve(`${a.ticket.slice(0, -2)}zz`); // missing
    await cloakroom.listSessions(SUBJECT);
    await cloakroom.rewrap({ batchSize: 1 });
    for (const rec of await dump(spy.inner)) secrets.push(...byteSpellings(rec.payload));
    spy.setFailure(new StoreUnavailable('backend down'));
    await cloakroom.resolve(next?.ticket).catch(() => null);
    await cloakroom.revokeSubject(SUBJECT).catch(() => 0);
    spy.setFailure(undefined);
    await cloakroom.revokeSubject(SUBJECT);
    await cloakroom.revoke(next?.ticket);
    r.stop();
    secrets.push(
      ...byteSpellings(material.storage),
      ...byteSpellings(material.index),
      material.signing.privateJwk.d as string,
    );
    expect(r.seen.length).toBeGreaterThan(40);
    // The scan finds a ticket where there is one.
    expect(scan(JSON.stringify({ x: a.ticket }), secrets)).not.toEqual([]);
    expect(scan(published(r.seen), secrets)).toEqual([]);
  });

  it('SEC-27 key-set sync messages carry key ids, never key bytes or the master key', async () => {
    const clock = new Clock();
    const master = new Uint8Array(randomBytes(32));
    const keySets = createMemoryKeySetStore();
    const keys = rotatingKeys({ store: keySets, masterKey: master, clock: clock.now });
    const memory = createMemoryStore({ clock: clock.now });
    const cloakroom = createCloakroom({
      store: spyStore(memory).store,
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      policy: allowAll(),
    });
    const r = record();
    const { ticket } = await cloakroom.create(SUBJECT, { note: CLAIM });
    await cloakroom.rotateKeys('storage');
    await cloakroom.rotateKeys('signing');
    await cloakroom.resolve(ticket);
    r.stop();
    const ring = await keys.storageKeys();
    const secrets = [
      ...byteSpellings(master),
      ...ring.keys.flatMap((k) => byteSpellings(k.key)),
      ...byteSpellings(await keys.indexKey()),
      ...byteSpellings(
        (await keySets.read('default'))?.document.subarray(0, 64) ?? new Uint8Array(),
      ),
      ticket,
      SUBJECT,
      CLAIM,
    ];
    expect(r.ended('cloakroom:keys.sync').length).toBeGreaterThanOrEqual(3);
    expect(scan(published(r.seen), secrets)).toEqual([]);
  });
});
