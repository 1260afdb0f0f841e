// What an at-rest or log scan looks for: the ways a secret's bytes can be
// written down as text.

/**
 * Every textual spelling of `bytes` a leak scan must not find: base64url,
 * base64 (padded and not), hex (both cases) and Latin-1 (the raw bytes read
 * as text).
 */
export function byteSpellings(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes);
  return [
    b.toString('base64url'),
    b.toString('base64'),
    b.toString('base64').replace(/=+$/, ''),
    b.toString('hex'),
    b.toString('hex').toUpperCase(),
    b.toString('latin1'),
  ];
}
