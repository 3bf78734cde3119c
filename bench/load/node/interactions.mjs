// User flows for the node-oidc-provider baseline (BASELINE_OIDC=1, used by bench/load/compare.sh):
// one account, a confidential code-flow client, introspection, refresh-token rotation, and login
// and consent pages doing what Portcullis's do: an argon2id password check (same parameters as
// Portcullis: m=19456 KiB, t=2, p=1) and consent remembered per user and client.
import crypto from 'node:crypto';

import argon2 from 'argon2';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const username = process.env.BENCH_USERNAME ?? 'bench-user';
const password = process.env.BENCH_PASSWORD ?? 'bench-password-0123456789';
const codeClientId = process.env.CODE_CLIENT_ID ?? 'bench-web';
const codeClientSecret = process.env.CODE_CLIENT_SECRET ?? 'bench-web-secret-0123456789abcdef';
const redirectUri = process.env.REDIRECT_URI ?? 'http://127.0.0.1:9/callback';

// Consent remembered per account and client, as Portcullis stores it (node-oidc-provider's
// default only finds a grant through the browser session).
const remembered = new Map();
// Set once by oidcConfiguration, before the provider starts.
let passwordHash;

// Adds the user-flow parts to a provider configuration.
export async function oidcConfiguration(configuration) {
  // The in-memory adapter keeps at most 1000 entries (tokens, codes, sessions, grants): past
  // that a user's access token is evicted while the benchmark still uses it, and introspection
  // answers `active: false`. The same adapter with room for every entry of a run instead.
  const store = new LRU({ maxSize: 10_000_000 });
  configuration.adapter = (model) => new MemoryAdapter(model, store, 0);
  passwordHash = await argon2.hash(password, {
    type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1,
  });
  // Portcullis signs ID tokens with RS256 (RSA-2048) and access tokens with ES256.
  const { privateKey: rsa } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  configuration.jwks.keys.push({ ...rsa.export({ format: 'jwk' }), alg: 'RS256', use: 'sig', kid: 'bench-rs256' });
  configuration.clients.push({
    client_id: codeClientId,
    client_secret: codeClientSecret,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [redirectUri],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
    scope: 'openid profile',
  });
  configuration.scopes = [...new Set([...configuration.scopes, 'openid', 'profile', 'offline_access'])];
  configuration.claims = { openid: ['sub'], profile: ['name', 'preferred_username'] };
  configuration.findAccount = async (_ctx, sub) => (sub === username
    ? { accountId: sub, claims: async () => ({ sub, name: 'Bench User', preferred_username: username }) }
    : undefined);
  configuration.features.devInteractions = { enabled: false };
  configuration.features.introspection = { enabled: true };
  configuration.features.userinfo = { enabled: true };
  configuration.interactions = { url: (_ctx, interaction) => `/interaction/${interaction.uid}` };
  // Portcullis issues a refresh token to any client allowed the grant and rotates it on each use.
  configuration.issueRefreshToken = async (_ctx, client) => client.grantTypeAllowed('refresh_token');
  configuration.rotateRefreshToken = () => true;
  configuration.loadExistingGrant = async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId)
      || remembered.get(`${ctx.oidc.session.accountId} ${ctx.oidc.client.clientId}`);
    return grantId ? ctx.oidc.provider.Grant.find(grantId) : undefined;
  };
  configuration.ttl = { ...configuration.ttl, AccessToken: 900, RefreshToken: 30 * 24 * 3600 };
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body>${body}</body></html>`;
}

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

// Koa middleware serving GET and POST /interaction/:uid.
export function interactionRoutes(provider) {
  return async (ctx, next) => {
    const match = /^\/interaction\/([\w-]+)$/.exec(ctx.path);
    if (!match) return next();
    ctx.set('Cache-Control', 'no-store');
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const action = `/interaction/${escape(details.uid)}`;
    const loginForm = (failed) => page('Sign in', `${failed ? '<p>Wrong username or password.</p>' : ''}
<form method="post" action="${action}"><input type="hidden" name="prompt" value="login">
<input type="text" name="username" required><input type="password" name="password" required>
<button type="submit">Sign in</button></form>`);
    if (ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = details.prompt.name === 'login'
        ? loginForm(false)
        : page('Allow access', `<p>${escape(details.params.client_id)} asks for ${escape(details.params.scope)}.</p>
<form method="post" action="${action}"><input type="hidden" name="prompt" value="consent">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></form>`);
      return undefined;
    }
    if (ctx.method !== 'POST') return next();
    const form = await readForm(ctx.req);
    let result;
    if (details.prompt.name === 'login' && form.get('prompt') === 'login') {
      const ok = form.get('username') === username
        && await argon2.verify(passwordHash, form.get('password') ?? '');
      if (!ok) {
        ctx.type = 'html';
        ctx.body = loginForm(true);
        return undefined;
      }
      result = { login: { accountId: username } };
    } else if (details.prompt.name === 'consent' && form.get('prompt') === 'consent') {
      if (form.get('decision') !== 'allow') {
        result = { error: 'access_denied', error_description: 'the user denied the request' };
      } else {
        const { grantId, session, params, prompt: { details: missing } } = details;
        const grant = grantId
          ? await provider.Grant.find(grantId)
          : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        if (missing.missingResourceScopes) {
          for (const [indicator, scope] of Object.entries(missing.missingResourceScopes)) {
            grant.addResourceScope(indicator, scope.join(' '));
          }
        }
        const saved = await grant.save();
        remembered.set(`${session.accountId} ${params.client_id}`, saved);
        result = { consent: { grantId: saved } };
      }
    } else {
      ctx.status = 400;
      ctx.body = page('Error', '<p>The form does not match the pending step.</p>');
      return undefined;
    }
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: details.prompt.name !== 'login',
    });
    ctx.status = 303;
    ctx.redirect(returnTo);
    return undefined;
  };
}
