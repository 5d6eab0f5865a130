// A real OpenID Provider (oidc-provider) on loopback for FastMcp.Identity's integration tests.
// Issues client-credentials JWT access tokens for any http(s) resource indicator (RFC 8707).
// Prints one JSON line when ready: {"issuer": ..., "kid": ...}. Reading "rotate" on stdin replaces
// the signing key with a fresh one (new kid) behind the same issuer URL. Exits when stdin closes,
// so the test process that started it cannot leave it behind.
import http from 'node:http';
import crypto from 'node:crypto';
import readline from 'node:readline';
import Provider, { errors } from 'oidc-provider';

export const CLIENT_ID = 'fastmcp-test';
export const CLIENT_SECRET = 'fastmcp-test-secret-not-for-production';

let generation = 0;
let handler = null;

function newSigningKey(kid) {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };
}

function configuration(key) {
  return {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'mcp:tools mcp:admin',
    }],
    scopes: ['mcp:tools', 'mcp:admin'],
    jwks: { keys: [key] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => undefined,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (!/^https?:\/\//.test(resourceIndicator)) throw new errors.InvalidTarget();
          return {
            scope: 'mcp:tools mcp:admin',
            audience: resourceIndicator,
            accessTokenTTL: 300,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  };
}

function build(issuer) {
  generation += 1;
  const kid = `key-${generation}-${crypto.randomBytes(4).toString('hex')}`;
  const provider = new Provider(issuer, configuration(newSigningKey(kid)));
  handler = provider.callback();
  return kid;
}

const server = http.createServer((req, res) => handler(req, res));
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const kid = build(issuer);
  process.stdout.write(JSON.stringify({ issuer, kid, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }) + '\n');
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === 'rotate') {
      process.stdout.write(JSON.stringify({ issuer, kid: build(issuer) }) + '\n');
    }
  });
  lines.on('close', () => server.close(() => process.exit(0)));
});
