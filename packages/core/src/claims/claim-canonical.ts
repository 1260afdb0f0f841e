// Canonical JSON for claim hashing. Internal: not re-exported.
//
// Equal values must hash equally wherever they are computed, so member order
// cannot matter. The form is RFC 8785 (JCS) for the values a JWT can carry:
// object members sorted by UTF-16 code units, no whitespace, strings and
// numbers exactly as ECMAScript JSON.stringify writes them.

import { InvalidArgument } from '../errors';

const MAX_DEPTH = 64;

/**
 * Serialize `value` canonically. Throws {@link InvalidArgument} for anything
 * JSON cannot carry faithfully (undefined, functions, symbols, bigint,
 * NaN/Infinity, non-plain objects, cycles or nesting deeper than 64).
 */
export function canonicalJson(value: unknown): string {
  return write(value, 0);
}

function write(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new InvalidArgument('claim value is nested too deeply');
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new InvalidArgument('claim value is not a finite number');
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new InvalidArgument(`claim value of type ${typeof value} is not JSON`);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => write(item, depth + 1)).join(',')}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new InvalidArgument('claim value is not a plain JSON object');
  }
  const record = value as Record<string, unknown>;
  const names = Object.keys(record).sort();
  const members: string[] = [];
  for (const name of names) {
    const member = record[name];
    // JSON.stringify drops undefined members; do the same so that
    // `{ a: 1, b: undefined }` and `{ a: 1 }` hash alike, as they serialize alike.
    if (member === undefined) continue;
    members.push(`${JSON.stringify(name)}:${write(member, depth + 1)}`);
  }
  return `{${members.join(',')}}`;
}
