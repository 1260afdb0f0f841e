// A tiny cookie-keeping HTTPS client for the HTTP-level tests: it trusts only
// the app's self-signed certificate and never follows redirects, so every
// status and Set-Cookie header is visible to the test.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export interface Reply {
  readonly status: number;
  readonly location: string | undefined;
  readonly setCookies: readonly string[];
  readonly body: string;
}

export interface ClientOptions {
  readonly baseUrl: string;
  readonly certPath: string;
  readonly userAgent?: string;
}

/** One "device": its own cookie jar and User-Agent. */
export class Device {
  readonly jar = new Map<string, string>();
  private readonly ca: string;

  constructor(private readonly options: ClientOptions) {
    this.ca = readFileSync(options.certPath, 'utf8');
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.send('GET', path, undefined, headers);
  }

  post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return this.send('POST', path, new URLSearchParams(form).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      ...headers,
    });
  }

  /** The CSRF token rendered into a page (the first hidden csrf field). */
  static csrfOf(html: string): string {
    const token = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    if (token === undefined) throw new Error('no CSRF field in the page');
    return token;
  }

  private send(
    method: string,
    path: string,
    body: string | undefined,
    headers: Record<string, string>,
  ): Promise<Reply> {
    const url = new URL(path, this.options.baseUrl);
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          ca: this.ca,
          timeout: 10_000,
          headers: {
            'user-agent': this.options.userAgent ?? 'node-test',
            ...(cookie === '' ? {} : { cookie }),
            ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const setCookies = res.headers['set-cookie'] ?? [];
            for (const line of setCookies) this.store(line);
            resolve({
              status: res.statusCode ?? 0,
              location: res.headers.location,
              setCookies,
              body: Buffer.concat(chunks).toString('utf8'),
            });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  private store(line: string): void {
    const [pair = '', ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
    if (gone) this.jar.delete(name);
    else this.jar.set(name, value);
  }
}
