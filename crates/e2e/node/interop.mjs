// Runs the authorization code flow with PKCE, refresh and userinfo through openid-client.
// Protocol with the Rust test: prints `AUTHORIZE <url>`, reads the callback URL from stdin,
// prints `RESULT <json>` at the end (or exits non-zero with the error on stderr).
import * as client from 'openid-client';
import { createInterface } from 'node:readline';

const [issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const auth = clientSecret ? client.ClientSecretBasic(clientSecret) : client.None();
const config = await client.discovery(
  new URL(issuer),
  clientId,
  clientSecret ? { client_secret: clientSecret } : undefined,
  auth,
  { execute: [client.allowInsecureRequests] },
);

const codeVerifier = client.randomPKCECodeVerifier();
const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope: 'openid profile email offline_access',
  code_challenge: codeChallenge,
  code_challenge_method: 'S256',
  state,
  nonce,
});
console.log(`AUTHORIZE ${url.href}`);

const lines = createInterface({ input: process.stdin });
const callback = await new Promise((resolve) => lines.once('line', resolve));
lines.close();

// Checks state, iss (RFC 9207), the ID token signature and claims, nonce and PKCE.
const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
let reuseRefused = false;
try {
  await client.refreshTokenGrant(config, tokens.refresh_token);
} catch (err) {
  reuseRefused = err?.error === 'invalid_grant' || err?.cause?.error === 'invalid_grant';
}
console.log(`RESULT ${JSON.stringify({
  sub: claims.sub,
  iss: claims.iss,
  email: userinfo.email,
  userinfo_sub: userinfo.sub,
  rotated: Boolean(refreshed.refresh_token) && refreshed.refresh_token !== tokens.refresh_token,
  reuse_refused: reuseRefused,
})}`);
