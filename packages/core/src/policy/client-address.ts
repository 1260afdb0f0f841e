import { type Cidr, ipInAny, parseCidr, parseIp } from './ip-address';

/** What {@link clientAddress} reads from a request. Framework-agnostic. */
export interface AddressSource {
  /** The socket's peer address (`req.socket.remoteAddress`). */
  readonly remoteAddress: string | undefined;
  /** The `X-Forwarded-For` header value(s), if any. */
  readonly forwardedFor?: string | readonly string[] | undefined;
  /** The RFC 7239 `Forwarded` header value(s), if any (read when `header: 'forwarded'`). */
  readonly forwarded?: string | readonly string[] | undefined;
}

/** Options of {@link clientAddress}. */
export interface ClientAddressOptions {
  /** Proxies (CIDR blocks or addresses) whose forwarded headers are believed. @default none */
  readonly trustedProxies?: readonly string[];
  /**
   * Which header your proxies append to: `X-Forwarded-For` or RFC 7239
   * `Forwarded` (its `for=` parameters). Only one is read, so a client cannot
   * play one against the other. @default 'x-forwarded-for'
   */
  readonly header?: 'x-forwarded-for' | 'forwarded';
}

// Bounded work: keep the right end, which our proxies appended; the left end
// is the client's to forge.
const MAX_HEADER = 4096;

/**
 * Builds a function that derives the client address of a request. Forwarded
 * headers are trusted only when the socket peer is one of `trustedProxies`;
 * then the hops are read right to left, skipping trusted proxies, and the
 * first untrusted hop is the client.
 *
 * Fail-closed (SEC-30): a hop is read in the forms proxies really send
 * (`203.0.113.9`, `203.0.113.9:51234`, `2001:db8::1`, `[2001:db8::1]:443`,
 * and in `Forwarded`, quoted `for="[2001:db8::1]:443"`). A hop that is
 * anything else (`unknown`, an RFC 7239 obfuscated `_identifier`, an address
 * with a zone id, garbage), or a request a trusted proxy relayed without any
 * hop, gives `undefined`: unknown, which no allowlist matches. It never falls
 * back to a proxy's own address. IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is
 * returned in IPv4 form.
 *
 * @example
 * ```ts
 * const addressOf = clientAddress({ trustedProxies: ['10.0.0.0/8'] });
 * const actor = { ip: addressOf({ remoteAddress: req.socket.remoteAddress, forwardedFor: req.headers['x-forwarded-for'] }) };
 * ```
 */
export function clientAddress(options: ClientAddressOptions = {}) {
  const proxies: readonly Cidr[] = (options.trustedProxies ?? []).map(parseCidr);
  const fromForwarded = options.header === 'forwarded';
  return (source: AddressSource): string | undefined => {
    const peer = readAddress(source.remoteAddress);
    if (peer === undefined) return undefined;
    if (proxies.length === 0 || !ipInAny(peer, proxies)) return peer;
    const raw = fromForwarded ? source.forwarded : source.forwardedFor;
    const joined = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join(',') : '';
    const cut = joined.length > MAX_HEADER;
    if (joined.trim() === '') return undefined;
    const hops = (cut ? joined.slice(-MAX_HEADER) : joined).split(',');
    // A cut first piece may be a partial hop: it is never read.
    if (cut) hops.shift();
    let client: string | undefined;
    for (let i = hops.length - 1; i >= 0; i--) {
      const text = (hops[i] ?? '').trim();
      const hop = fromForwarded ? forwardedFor(text) : readHop(text);
      if (hop === undefined) return undefined;
      client = hop;
      if (!ipInAny(hop, proxies)) return hop;
    }
    // Every hop was one of our proxies (a request from inside), or there was none.
    return client;
  };
}

/** An address as a socket reports it; `undefined` when it is not a plain address. */
function readAddress(text: string | undefined): string | undefined {
  if (text === undefined || text.includes('%') || parseIp(text) === undefined) return undefined;
  const lower = text.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped?.[1] ?? lower;
}

/** One hop: `a.b.c.d`, `a.b.c.d:port`, a bare IPv6 address, `[v6]` or `[v6]:port`. */
function readHop(text: string): string | undefined {
  if (text.length > 64) return undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed !== null) {
    const v6 = bracketed[1] ?? '';
    return v6.includes(':') && validPort(bracketed[2]) ? readAddress(v6) : undefined;
  }
  const v4Port = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(text);
  if (v4Port !== null) return validPort(v4Port[2]) ? readAddress(v4Port[1]) : undefined;
  return readAddress(text);
}

const validPort = (port: string | undefined) => port === undefined || Number(port) <= 65535;

/** The `for=` node of one `Forwarded` element; `undefined` when absent, `unknown` or obfuscated. */
function forwardedFor(element: string): string | undefined {
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
    let value = pair.slice(eq + 1).trim();
    if (value.startsWith('"')) {
      if (value.length < 2 || !value.endsWith('"')) return undefined;
      value = value.slice(1, -1);
    }
    // RFC 7239 §6: IPv6 must be bracketed; `unknown` and `_obfuscated` are not addresses.
    if (
      value.includes(':') &&
      !value.startsWith('[') &&
      !/^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(value)
    ) {
      return undefined;
    }
    return readHop(value);
  }
  return undefined;
}
