import { createHmac, timingSafeEqual } from 'node:crypto';

/** appsecret_proof: hex HMAC-SHA256 of the access token, keyed by the app secret. */
export function appsecretProof(accessToken: string, appSecret: string): string {
  return createHmac('sha256', appSecret).update(accessToken).digest('hex');
}

export function verifyAppsecretProof(proof: string, accessToken: string, appSecret: string): boolean {
  const expected = Buffer.from(appsecretProof(accessToken, appSecret), 'utf8');
  const given = Buffer.from(proof, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
