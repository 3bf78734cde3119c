// node-oidc-provider as an upstream OpenID provider for the Rust end-to-end tests: an
// independent implementation to sign in at. Configured by environment variables:
//   PORT           the port to listen on (127.0.0.1); the issuer is http://localhost:PORT
//   CLIENT_ID, CLIENT_SECRET, REDIRECT_URI   the one confidential client (Portcullis)
//   ACCOUNTS       JSON: { "username": { "password", "email", "email_verified", "name",
//                  "groups": [...] } }
// The login page is a plain form (username, password); consent is given without a page, as a
// first-party provider does. Prints `READY <issuer>` on stdout once listening.
import crypto from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number.parseInt(process.env.PORT ?? '', 10);
if (!Number.isInteger(port) || port <= 0) {
  console.error('PORT must be set');
  process.exit(2);
}
const issuer = `http://localhost:${port}`;
const accounts = JSON.parse(process.env.ACCOUNTS ?? '{}');

const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const configuration = {
  clients: [{
    client_id: process.env.CLIENT_ID,
    client_secret: process.env.CLIENT_SECRET,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [process.env.REDIRECT_URI],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'upstream-es256' }] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    // With `openid` comes `amr`: how the account signed in (here always a password).
    openid: ['sub', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
  },
  pkce: { required: () => true },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (_ctx, sub) => {
    const account = accounts[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      claims: async () => ({
        sub,
        preferred_username: sub,
        name: account.name,
        email: account.email,
        email_verified: account.email_verified,
        groups: account.groups ?? [],
      }),
    };
  },
};

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body>${body}</body></html>`;

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, err) => console.error('server_error', err));
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
  if (!match) return next();
  ctx.set('Cache-Control', 'no-store');
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const finish = async (result) => {
    const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(to);
  };
  if (details.prompt.name === 'consent') {
    const { grantId, session, params, prompt: { details: missing } } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    return finish({ consent: { grantId: await grant.save() } });
  }
  const form = (failed) => page('Sign in', `${failed ? '<p>Wrong username or password.</p>' : ''}
<form method="post" action="/interaction/${escape(details.uid)}">
<label>Username <input type="text" name="username" required></label>
<label>Password <input type="password" name="password" required></label>
<button type="submit">Sign in</button></form>`);
  ctx.type = 'html';
  if (ctx.method === 'GET') {
    ctx.body = form(false);
    return undefined;
  }
  const submitted = await readForm(ctx.req);
  const account = accounts[submitted.get('username') ?? ''];
  const given = Buffer.from(submitted.get('password') ?? '');
  const expected = Buffer.from(account?.password ?? '');
  if (!account || given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    ctx.body = form(true);
    return undefined;
  }
  return finish({ login: { accountId: submitted.get('username'), amr: ['pwd'] } });
});
provider.listen(port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});
