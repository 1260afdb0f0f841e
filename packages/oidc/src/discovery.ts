// OpenID Provider metadata (OpenID Connect Discovery 1.0), fetched once.
import { ConfigInvalid } from '@cloakroom/core';

/** The provider metadata the vault uses. */
export interface ProviderMetadata {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly jwks_uri: string;
  readonly revocation_endpoint?: string;
  readonly end_session_endpoint?: string;
  readonly id_token_signing_alg_values_supported?: readonly string[];
  readonly claims_parameter_supported?: boolean;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** `https:`, or `http:` on a loopback host when allowed (tests, local development). */
export function checkEndpoint(url: string, name: string, allowInsecureLoopback: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigInvalid(`${name} is not a URL`);
  }
  const loopback = parsed.protocol === 'http:' && LOOPBACK.has(parsed.hostname);
  if (parsed.protocol !== 'https:' && !(allowInsecureLoopback && loopback)) {
    throw new ConfigInvalid(
      `${name} must be https: (http: only on loopback with allowInsecureLoopback)`,
    );
  }
  return parsed;
}

/** POSTs a form to a provider endpoint under a deadline; answers status and parsed JSON (or undefined). */
export async function postForm(
  url: string,
  form: Record<string, string>,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      ...headers,
    },
    body: new URLSearchParams(form).toString(),
    redirect: 'manual',
    signal,
  });
  const text = await res.text();
  let body: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = text.length === 0 ? undefined : JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      body = parsed as Record<string, unknown>;
    }
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
}

/** Fetch and check `${issuer}/.well-known/openid-configuration`. */
export async function discover(
  issuer: string,
  allowInsecureLoopback: boolean,
  timeoutMs: number,
): Promise<ProviderMetadata> {
  checkEndpoint(issuer, 'issuer', allowInsecureLoopback);
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new ConfigInvalid(`provider discovery answered ${res.status}`);
  const meta = (await res.json()) as Record<string, unknown>;
  // The metadata must be for the issuer we were configured with (Discovery §4.3).
  if (meta.issuer !== issuer) throw new ConfigInvalid('provider metadata names another issuer');
  for (const name of ['authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    if (typeof meta[name] !== 'string') throw new ConfigInvalid(`provider metadata lacks ${name}`);
    checkEndpoint(meta[name] as string, name, allowInsecureLoopback);
  }
  for (const name of ['revocation_endpoint', 'end_session_endpoint'] as const) {
    if (meta[name] !== undefined) checkEndpoint(String(meta[name]), name, allowInsecureLoopback);
  }
  return meta as unknown as ProviderMetadata;
}
