// `pnpm --filter @cloakroom/bench format-cap`: where the memory-store resolve
// stands against the floor, layer by layer, in alternating rounds in one
// process (CPU microseconds per call, one in flight, median of the rounds).
// Each layer adds one step to the one before it:
//
//   floor (the bench's)  `pnpm bench`'s floor: SHA-256 of the ticket, a Map
//                        lookup, one AES-GCM open, JSON.parse, expiry check
//   floor, inline        the same steps written out in one function
//   + memory store       the same, the record read through the memory store
//                        (argument check, the payload copied out of the arena)
//   + Cloakroom's record the floor's steps on a Cloakroom record: ticket
//                        shape check, session id, store read, one AES-GCM
//                        open of the body under its data key taken from a
//                        table (as if unmasking cost nothing), JSON.parse
//   + Mt                 the ticket mask, SHA-256 of the ticket under its label
//   + key lookup         the record's storage key id read and its mask key
//                        found in the key snapshot
//   + Ms                 the storage mask, SHA-256 keyed by the mask key over
//                        the record's salt, ids, nonce, tag and operator copy
//   + unmasking          DK = W ⊕ Ms ⊕ Mt instead of the table: core's
//                        openBoundBody, the whole format-2 open
//   + frame checks       the frame decoded and shape-checked (decodePayload)
//                        instead of a bare JSON.parse
//   resolve              cloakroom.resolve: the above plus expiry, key state,
//                        policy and the answer object
//
// The step from one layer to the next is what that step costs.
import { hash } from 'node:crypto';
import { createAesGcmCipher, parseTicket, sessionIdOf } from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
// Internal modules of core (this package is private): the steps of the format-2 open.
import { openAesGcmBuffer } from '../../core/src/crypto/aes-gcm';
import { recordMaskKeysOf } from '../../core/src/crypto/aes-gcm-cipher';
import { BODY_AT, LENGTH_AT, NONCE_AT, SALT_AT } from '../../core/src/crypto/bound-layout';
import { checkedBodyEnd, openBoundBody } from '../../core/src/crypto/bound-record';
import { boundAad, recordStorageMask, ticketMask } from '../../core/src/crypto/format';
import { decodePayload } from '../../core/src/crypto/payload-format';
import { storageKeyIdAt } from '../../core/src/crypto/storage-layout';
import { CLAIMS, cloakroomOver, makeFixture } from './fixture';
import { floorOpen, floorOps } from './floor';
import { memoryFloor } from './floor-backend';
import { median } from './measure';

const SESSIONS = 1000;
const NO_AAD_HEAD = new Uint8Array(0);

/** CPU microseconds per call of `fn` over `n` sequential calls. */
async function cpuPerCall(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn(i);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / n;
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 8);
  const calls = Number(process.argv[3] ?? 50_000);
  const fixture = await makeFixture();

  const store = createMemoryStore({ maxSessions: 10 * SESSIONS });
  const cloakroom = cloakroomOver(fixture, store);
  const tickets: string[] = [];
  for (let i = 0; i < SESSIONS; i++)
    tickets.push((await cloakroom.create(`p-${i % 97}`, { ...CLAIMS })).ticket);
  const first = await store.get(sessionIdOf(tickets[0] as string));
  if (first === null) throw new Error('format-cap: no record');

  // The floor, and the floor's own records copied into a second memory store.
  const backend = memoryFloor();
  const floor = floorOps(fixture, backend, first.payload.byteLength);
  const floorTickets: string[] = [];
  const floorStore = createMemoryStore({ maxSessions: 10 * SESSIONS });
  for (let i = 0; i < SESSIONS; i++) {
    const ticket = await floor.create(`p-${i % 97}`);
    const id = hash('sha256', ticket, 'base64url');
    const record = await backend.get(id);
    if (record === null) throw new Error('format-cap: no floor record');
    floorTickets.push(ticket);
    await floorStore.insert({
      id,
      subject: hash('sha256', record.subject, 'base64url'),
      expiresAt: record.expiresAt,
      version: 1,
      payload: record.payload,
    });
  }
  const key = fixture.storageKey;
  const masks = recordMaskKeysOf(createAesGcmCipher({ keys: fixture.keys }));
  if (masks === undefined) throw new Error('format-cap: the default cipher has mask keys');

  // The floor's resolve written out in one function, over either backend.
  const floorInline = async (
    i: number,
    get: (id: string) => Promise<{ readonly payload: Uint8Array } | null>,
  ) => {
    const ticket = floorTickets[i % SESSIONS] as string;
    const id = hash('sha256', ticket, 'base64url');
    const record = await get(id);
    if (record === null) throw new Error('format-cap: missed');
    const session = JSON.parse(floorOpen(key, record.payload, id).toString());
    if (session.exp <= Date.now()) throw new Error('format-cap: expired');
  };
  // Each session's data key, from one open now: "+ Cloakroom's record" reads it from here.
  const dataKeys = new Map<string, Uint8Array>();
  for (const ticket of tickets) {
    const id = sessionIdOf(ticket);
    const record = await store.get(id);
    if (record === null) throw new Error('format-cap: no record');
    const bodyEnd = checkedBodyEnd(record.payload);
    const maskKey = masks.forKeyIdNow(storageKeyIdAt(record.payload, bodyEnd));
    if (maskKey === undefined) throw new Error('format-cap: no key snapshot');
    const opened = openBoundBody(
      maskKey,
      record.payload,
      bodyEnd,
      id,
      record.subject,
      ticketMask(ticket),
    );
    dataKeys.set(id, opened.dataKey);
  }
  // A Cloakroom record opened with the steps up to `step` (the layers in the file header).
  const ours = async (i: number, step: number) => {
    const ticket = parseTicket(tickets[i % SESSIONS]);
    const id = sessionIdOf(ticket);
    const record = await store.get(id);
    if (record === null) throw new Error('format-cap: missed');
    const sealed = record.payload;
    const bodyEnd = checkedBodyEnd(sealed);
    const mt = step >= 2 ? ticketMask(ticket) : '';
    const maskKey = step >= 3 ? masks.forKeyIdNow(storageKeyIdAt(sealed, bodyEnd)) : undefined;
    if (step >= 3 && maskKey === undefined) throw new Error('format-cap: no key snapshot');
    let plain: Buffer;
    if (step >= 5) {
      plain = openBoundBody(maskKey as Uint8Array, sealed, bodyEnd, id, record.subject, mt).plain;
    } else {
      if (step === 4) {
        const ms = recordStorageMask(
          maskKey as Uint8Array,
          sealed,
          SALT_AT,
          NONCE_AT,
          bodyEnd,
          id,
          record.subject,
        );
        if (ms.length !== 32) throw new Error('format-cap: bad mask');
      }
      plain = openAesGcmBuffer(
        dataKeys.get(id) as Uint8Array,
        sealed.subarray(NONCE_AT, LENGTH_AT),
        NO_AAD_HEAD,
        boundAad(id, record.subject),
        sealed.subarray(0, bodyEnd),
        BODY_AT,
      );
    }
    const payload = step >= 6 ? decodePayload(plain) : JSON.parse(plain.toString('utf8', 5));
    if (payload?.k !== 'live') throw new Error('format-cap: not live');
  };
  const layers: Array<[string, (i: number) => Promise<unknown>]> = [
    ["floor (the bench's)", (i) => floor.resolve(floorTickets[i % SESSIONS] as string)],
    ['floor, inline', (i) => floorInline(i, (id) => backend.get(id))],
    ['+ memory store', (i) => floorInline(i, (id) => floorStore.get(id))],
    ["+ Cloakroom's record", (i) => ours(i, 1)],
    ['+ Mt', (i) => ours(i, 2)],
    ['+ key lookup', (i) => ours(i, 3)],
    ['+ Ms', (i) => ours(i, 4)],
    ['+ unmasking', (i) => ours(i, 5)],
    ['+ frame checks', (i) => ours(i, 6)],
    [
      'resolve',
      async (i) => {
        if ((await cloakroom.resolve(tickets[i % SESSIONS])) === null)
          throw new Error('format-cap: missed');
      },
    ],
  ];
  const perLayer = layers.map(() => [] as number[]);
  for (const [, fn] of layers) await cpuPerCall(calls / 5, fn);
  for (let round = 0; round < rounds; round++) {
    // The layer that goes first rotates, so drift hits every layer alike.
    for (let j = 0; j < layers.length; j++) {
      const k = (j + round) % layers.length;
      perLayer[k]?.push(await cpuPerCall(calls, (layers[k] as (typeof layers)[number])[1]));
    }
  }
  const medians = perLayer.map((values) => median(values));
  const floorUs = medians[0] as number;
  process.stdout.write(
    `memory store, 1 in flight, ${rounds} alternating rounds of ${calls} calls (median CPU µs per call)\n`,
  );
  process.stdout.write(
    '| layer | CPU µs | over the layer before | floor / layer |\n|---|--:|--:|--:|\n',
  );
  layers.forEach(([name], k) => {
    const us = medians[k] as number;
    const delta = us - (medians[k - 1] as number);
    const step = k === 0 ? '' : `${delta < 0 ? '−' : '+'}${Math.abs(delta).toFixed(2)}`;
    process.stdout.write(
      `| ${name} | ${us.toFixed(2)} | ${step} | ${(floorUs / us).toFixed(2)}x |\n`,
    );
  });
  await cloakroom.close();
  await floor.close();
  await floorStore.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
