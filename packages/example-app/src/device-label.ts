/**
 * A short, human label for a device from its User-Agent ("Firefox on
 * Windows"). Only this label is stored with the session (public metadata in
 * the outer layer), never the raw header, so nothing more identifying than
 * browser and platform lands in the store.
 *
 * @returns `'Unknown device'` when the header is missing or unrecognised.
 * @example
 * ```ts
 * deviceLabel('Mozilla/5.0 (X11; Linux x86_64) ... Chrome/126.0 Safari/537.36'); // 'Chrome on Linux'
 * ```
 */
export function deviceLabel(userAgent: string | undefined): string {
  if (typeof userAgent !== 'string' || userAgent.length === 0) return 'Unknown device';
  const ua = userAgent.slice(0, 512);
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const platform = PLATFORMS.find(([re]) => re.test(ua))?.[1];
  if (browser === undefined && platform === undefined) return 'Unknown device';
  if (platform === undefined) return browser as string;
  return `${browser ?? 'Browser'} on ${platform}`;
}

// Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
const BROWSERS: readonly (readonly [RegExp, string])[] = [
  [/HeadlessChrome\//, 'Headless Chrome'],
  [/Edg\//, 'Edge'],
  [/OPR\//, 'Opera'],
  [/Firefox\//, 'Firefox'],
  [/Chrom(e|ium)\//, 'Chrome'],
  [/Safari\//, 'Safari'],
  [/^curl\//, 'curl'],
];

const PLATFORMS: readonly (readonly [RegExp, string])[] = [
  [/Android/, 'Android'],
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/CrOS/, 'ChromeOS'],
  [/Linux|X11/, 'Linux'],
];
