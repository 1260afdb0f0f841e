import { type Cidr, ipInAny, parseCidr, parseIp } from './ip-address';

/** What {@link clientAddress} reads from a request. Framework-agnostic. */
export interface AddressSource {
  /** The socket's peer address (`req.socket.remoteAddress`). */
  readonly remoteAddress: string | undefined;
  /** The `X-Forwarded-For` header value(s), if any. */
  readonly forwardedFor?: string | readonly string[] | undefined;
}

/**
 * Builds a function that derives the client address of a request. Forwarded
 * headers are trusted only when the socket peer is one of `trustedProxies`;
 * then `X-Forwarded-For` is read right to left, skipping trusted proxies, and
 * the first untrusted hop is the client. A malformed hop stops the walk at the
 * last trusted address (never trusts garbage). IPv4-mapped IPv6 peers
 * (`::ffff:10.0.0.1`) are returned in IPv4 form.
 *
 * @example
 * ```ts
 * const addressOf = clientAddress({ trustedProxies: ['10.0.0.0/8'] });
 * const actor = { ip: addressOf({ remoteAddress: req.socket.remoteAddress, forwardedFor: req.headers['x-forwarded-for'] }) };
 * ```
 */
export function clientAddress(options: { readonly trustedProxies?: readonly string[] } = {}) {
  const proxies: readonly Cidr[] = (options.trustedProxies ?? []).map(parseCidr);
  return (source: AddressSource): string | undefined => {
    let current = normalize(source.remoteAddress);
    if (current === undefined) return undefined;
    if (proxies.length === 0 || !ipInAny(current, proxies)) return current;
    const raw = source.forwardedFor;
    const header = typeof raw === 'string' ? raw : Array.isArray(raw) ? raw.join(',') : '';
    // Bounded work: keep the right end, which our proxies appended; the left
    // end is the client's to forge. A cut first piece may be a partial address.
    const cut = header.length > 4096;
    const hops = (cut ? header.slice(-4096) : header)
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    if (cut) hops.shift();
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalize(hops[i]);
      if (hop === undefined) return current;
      current = hop;
      if (!ipInAny(hop, proxies)) return hop;
    }
    return current;
  };
}

function normalize(address: string | undefined): string | undefined {
  if (address === undefined || parseIp(address) === undefined) return undefined;
  const lower = address.toLowerCase();
  const mapped = /^(?:::ffff:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped?.[1] ?? lower;
}
