// Small byte helpers (Node).
import { createHash, createHmac, randomBytes } from 'node:crypto';

export const b64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
export const randomToken = (bytes = 32): string => b64url(randomBytes(bytes));
export const sha256b64url = (text: string): string =>
  createHash('sha256').update(text).digest('base64url');
export const hmacB64url = (key: Uint8Array, text: string): string =>
  createHmac('sha256', key).update(text).digest('base64url');
