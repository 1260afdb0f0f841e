// Advice after an error comes from structured data: the error class, the
// SQLSTATE or errno code of its cause, the store kind, the failing step;
// never from another package's wording.
import { ConfigInvalid, DecryptionFailed, StoreUnavailable } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { hintFor, tagPhase } from '../src/hints';
import { parseStoreUrl } from '../src/store-url';

const postgres = parseStoreUrl('postgres://app:pw-not-shown@db.internal:5433/app?schema=auth');
const redis = parseStoreUrl('redis://:pw-not-shown@cache.internal:6380/2');

const sqlError = (code: string) => Object.assign(new Error('relation does not exist'), { code });

describe('hints', () => {
  it('a missing PostgreSQL table (42P01) or schema (3F000) points at `cloakroom migrate`, whatever the message says', () => {
    for (const state of ['42P01', '3F000']) {
      const error = new StoreUnavailable('any wording', { cause: sqlError(state) });
      const hint = hintFor(error, { store: postgres });
      expect(hint).toContain('postgres db.internal:5433/app: from here, run `cloakroom migrate`');
    }
  });

  it('an error from another copy of core (a global install gives each store its own) gets the same hint', () => {
    // Not an instance of this copy's StoreUnavailable: only its code says what it is.
    const foreign = Object.assign(new Error('store table or schema missing'), {
      name: 'StoreUnavailable',
      code: 'ERR_STORE_UNAVAILABLE' as const,
      cause: sqlError('42P01'),
    });
    expect(foreign instanceof StoreUnavailable).toBe(false);
    expect(hintFor(foreign as unknown as StoreUnavailable, { store: postgres })).toContain(
      'run `cloakroom migrate`',
    );
  });

  it('the same SQLSTATE from a non-PostgreSQL store is not read as one', () => {
    const error = new StoreUnavailable('x', { cause: sqlError('42P01') });
    expect(hintFor(error, { store: redis })).not.toContain('migrate');
  });

  it('an unreachable store is named (host, port, database; never the password) with the errno of the client', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const retries = new Error('Reached the max retries per request limit');
    const hint = hintFor(new StoreUnavailable('redis command failed', { cause: retries }), {
      store: redis,
      clientError: refused,
    });
    expect(hint).toBe(
      ' (redis cache.internal:6380/2, ECONNREFUSED: is the store reachable? check the URL, network and credentials)',
    );
    expect(hint).not.toContain('pw-not-shown');
    // Node reports a refused IPv4 and IPv6 attempt as one AggregateError.
    const both = Object.assign(new AggregateError([refused], ''), { code: undefined });
    expect(hintFor(new StoreUnavailable('x', { cause: both }), { store: postgres })).toContain(
      'postgres db.internal:5433/app, ECONNREFUSED',
    );
  });

  it('a key set that does not open suggests the master key only when it failed while opening the key set', () => {
    const decrypt = new DecryptionFailed('failed authentication');
    expect(hintFor(decrypt, {})).toBe('');
    expect(hintFor(tagPhase(decrypt, 'key-set') as DecryptionFailed, {})).toMatch(
      /wrong master key\?/,
    );
    const unknown = tagPhase(new ConfigInvalid('sealed under another key'), 'key-set');
    expect(hintFor(unknown as ConfigInvalid, {})).toMatch(
      /CLOAKROOM_MASTER_KEY or --master-key-file/,
    );
    expect(hintFor(new ConfigInvalid('signing.alg must be one of'), {})).toBe('');
  });
});
