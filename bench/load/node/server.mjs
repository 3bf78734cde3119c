// The node-oidc-provider baseline of the load benchmark: one confidential client allowed the
// client-credentials grant, listening on loopback; BASELINE_FORMAT picks opaque or ES256 JWT tokens
// and BASELINE_WORKERS the number of node:cluster worker processes (default 1).
// BASELINE_OIDC=1 adds what bench/load/compare.sh needs for user flows: one user (BENCH_USERNAME,
// BENCH_PASSWORD, checked against an argon2id hash with Portcullis's parameters), a confidential
// code-flow client (CODE_CLIENT_ID, CODE_CLIENT_SECRET, REDIRECT_URI) allowed refresh tokens
// (rotated on every use), introspection, and login and consent pages of our own.
import cluster from 'node:cluster';
import crypto from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number.parseInt(process.env.PORT ?? '', 10);
if (!Number.isInteger(port) || port <= 0) {
  console.error('PORT must be set to the port to listen on');
  process.exit(2);
}
const clientId = process.env.CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.CLIENT_SECRET ?? 'bench-secret-0123456789abcdef';
const scope = process.env.SCOPE ?? 'api:read';
const format = process.env.BASELINE_FORMAT ?? 'opaque';
if (format !== 'opaque' && format !== 'jwt') {
  console.error('BASELINE_FORMAT must be opaque or jwt');
  process.exit(2);
}
const workers = Number.parseInt(process.env.BASELINE_WORKERS ?? '1', 10);
if (!Number.isInteger(workers) || workers < 1 || workers > 16) {
  console.error('BASELINE_WORKERS must be between 1 and 16');
  process.exit(2);
}
if (workers > 1 && cluster.isPrimary) {
  // node:cluster workers share the port. Each has its own in-memory adapter and signing key,
  // which is enough for issuing tokens (not for introspecting them across workers).
  for (let i = 0; i < workers; i += 1) cluster.fork();
  cluster.on('exit', (worker, code) => {
    console.error(`worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
      process.exit(0);
    });
  }
} else {
  await startProvider();
}

async function startProvider() {
  const resource = 'urn:portcullis-bench:api';
  const issuer = `http://127.0.0.1:${port}`;

  // A fresh P-256 signing key per run, as the Rust server makes its own on first start.
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench-es256' };

  const configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
        scope,
      },
    ],
    scopes: scope.split(' '),
    jwks: { keys: [signingKey] },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    // 15 minutes, the Portcullis default access-token lifetime.
    ttl: { ClientCredentials: 900 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
    },
  };

  if (format === 'jwt') {
    // Without a resource indicator client-credentials tokens are opaque and stored; with one whose
    // format is `jwt` they are ES256 JWTs like the ones Portcullis issues.
    configuration.features.resourceIndicators = {
      enabled: true,
      // Only the client-credentials client gets the JWT resource; user tokens stay opaque so that
      // the userinfo endpoint accepts them.
      defaultResource: async (_ctx, client) => (client.clientId === clientId ? resource : undefined),
      useGrantedResource: async () => true,
      getResourceServerInfo: async () => ({
        scope,
        audience: resource,
        accessTokenTTL: 900,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    };
  }

  // Imported only when asked for: it needs the argon2 package, which run.sh does not.
  const oidc = process.env.BASELINE_OIDC === '1' ? await import('./interactions.mjs') : undefined;
  if (oidc) {
    await oidc.oidcConfiguration(configuration);
  }

  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  if (oidc) {
    provider.use(oidc.interactionRoutes(provider));
  }
  provider.listen(port, '127.0.0.1', () => {
    console.error(`node-oidc-provider (${format} tokens) listening on ${issuer}`);
  });
}
