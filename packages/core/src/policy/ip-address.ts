// IPv4/IPv6 parsing and CIDR matching for address rules. Every address is
// mapped into one 128-bit space, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d),
// so `::ffff:10.0.0.1` matches a `10.0.0.0/8` rule and vice versa (SEC-26).
import { ConfigInvalid } from '../errors';

const V4_MAPPED_PREFIX = 0xffffn << 32n;

function parseV4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Decimal only, no leading zeros (octal ambiguity), 0..255.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  if (text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0] ?? '');
  const right = halves.length === 2 ? groups(halves[1] ?? '') : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  let value = 0n;
  for (const g of all) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  }
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

/**
 * Parse an IPv4 or IPv6 address (bare, or IPv6 in brackets) into the 128-bit
 * space; `undefined` when it is not an address. An address with a zone id
 * (`fe80::1%eth0`, `10.0.0.1%eth0`) is not one: the same text names different
 * hosts on different links, so no rule may match it (SEC-30).
 */
export function parseIp(text: unknown): bigint | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  const addr = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (addr.includes('%')) return undefined;
  if (addr.includes(':')) return parseV6(addr);
  const v4 = parseV4(addr);
  return v4 === undefined ? undefined : V4_MAPPED_PREFIX | v4;
}

/** A parsed CIDR block. */
export interface Cidr {
  readonly base: bigint;
  readonly mask: bigint;
  /** The text it was parsed from. */
  readonly text: string;
}

const ALL = (1n << 128n) - 1n;

/**
 * Parse `a.b.c.d/n` (n 0..32), `x::y/n` (n 0..128) or a bare address (a
 * single host). Throws `ConfigInvalid` for anything else, including host bits
 * set beyond the prefix (`10.0.0.1/8`), which usually hides a typo.
 */
export function parseCidr(text: string): Cidr {
  if (typeof text !== 'string') throw new ConfigInvalid('CIDR rules must be strings');
  const slash = text.indexOf('/');
  const addrText = slash === -1 ? text : text.slice(0, slash);
  const isV6 = addrText.includes(':');
  const max = isV6 ? 128 : 32;
  const prefixText = slash === -1 ? String(max) : text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    throw new ConfigInvalid(`invalid CIDR prefix in "${text.slice(0, 64)}"`);
  }
  if (addrText.includes('%'))
    throw new ConfigInvalid(`zone ids are not allowed in CIDR "${text.slice(0, 64)}"`);
  const base = parseIp(addrText);
  if (base === undefined) throw new ConfigInvalid(`invalid address in CIDR "${text.slice(0, 64)}"`);
  const bits = Number(prefixText) + (isV6 ? 0 : 96);
  const mask = bits === 0 ? 0n : (ALL << BigInt(128 - bits)) & ALL;
  if ((base & ~mask & ALL) !== 0n) {
    throw new ConfigInvalid(`CIDR "${text.slice(0, 64)}" has host bits set beyond its prefix`);
  }
  return { base, mask, text };
}

/** Whether `address` (text) lies in any of `blocks`; malformed addresses match nothing. */
export function ipInAny(address: unknown, blocks: readonly Cidr[]): boolean {
  const ip = parseIp(address);
  if (ip === undefined) return false;
  for (const b of blocks) if ((ip & b.mask) === b.base) return true;
  return false;
}
