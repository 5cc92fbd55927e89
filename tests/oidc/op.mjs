// The identity provider the tests sign staff in through: npm oidc-provider, configured like a
// work account provider (Entra ID, Google Workspace, Okta), with its own small sign-in page.
//
// Environment:
//   OP_PORT           the port on 127.0.0.1 (the issuer is http://127.0.0.1:OP_PORT)
//   OP_REDIRECT_URIS  the portal's callback addresses, comma-separated
//   OP_ACCOUNTS       a JSON file read on every use, so a test can change a person between
//                     sign-ins: {"<login>": {"email", "email_verified", "name", "disabled",
//                     "amr": [...], "id_token": {"aud"?, "iss"?, "exp_offset"?}}}.
//                     A login not in the file is "<login>@OP_EMAIL_DOMAIN" (harbor.example
//                     unless set), verified.
//                     "_sign_in_page_at": an origin its discovery document then names for
//                     its sign-in page (another host than the discovery URL's).
//                     "id_token" makes this provider sign an ID token that is wrong in that way
//                     (another audience, another issuer, already expired), with its real key.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';
import * as jose from 'jose';

const port = Number(process.env.OP_PORT || 4000);
const issuer = `http://127.0.0.1:${port}`;
const redirectUris = (process.env.OP_REDIRECT_URIS || '').split(',').filter(Boolean);
const accountsFile = process.env.OP_ACCOUNTS || '';

function people() {
  if (!accountsFile) return {};
  try { return JSON.parse(readFileSync(accountsFile, 'utf8')); } catch { return {}; }
}

function person(login) {
  const known = people()[login] || {};
  return {
    email: `${login}@${process.env.OP_EMAIL_DOMAIN || 'harbor.example'}`,
    email_verified: true,
    name: `Staff ${login}`,
    ...known,
  };
}

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

const lastMethods = new Map(); // login -> the methods of their last sign-in here (amr)

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const oidc = new Provider(issuer, {
  clients: [{
    client_id: 'portal',
    client_secret: 'portal-secret',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  }],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // The asked-for claims in the ID token itself, as Entra ID and Google send them (the
  // library's default keeps them for /userinfo).
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  issueRefreshToken: async () => true,
  ttl: { AccessToken: 600, IdToken: 600, RefreshToken: 86400, Interaction: 600, Session: 3600, Grant: 86400 },
  // The portal is this organization's own application: no consent page, every asked-for
  // scope granted.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile');
    await grant.save();
    return grant;
  },
  async findAccount(ctx, id) {
    const who = person(id);
    if (who.disabled) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id, email: who.email, email_verified: who.email_verified, name: who.name,
        };
      },
    };
  },
  cookies: { keys: [randomBytes(16).toString('hex')] },
});
oidc.proxy = false;

// The ID token gets the methods of the person's last sign-in here (`amr`, as Entra ID sends
// it; the library adds it only when a request asks for it by name), and is made wrong in the
// way the account asks (a test's attack): signed again with the provider's real key, so the
// portal must refuse it for its claims, not for its signature.
oidc.use(async (ctx, next) => {
  await next();
  const sendTo = people()._sign_in_page_at; // a sign-in page on another host than discovery
  if (ctx.path === '/.well-known/openid-configuration' && sendTo && ctx.body) {
    ctx.body.authorization_endpoint = `${sendTo}/auth`;
  }
  if (ctx.path !== '/token' || !ctx.body || !ctx.body.id_token) return;
  const claims = jose.decodeJwt(ctx.body.id_token);
  const wrong = person(claims.sub).id_token || {};
  const changed = { ...claims, amr: lastMethods.get(claims.sub) || ['pwd'] };
  if (wrong.aud) changed.aud = wrong.aud;
  if (wrong.azp) changed.azp = wrong.azp;
  if (wrong.iss) changed.iss = wrong.iss;
  if (wrong.exp_offset) { changed.exp = Math.floor(Date.now() / 1000) + wrong.exp_offset; changed.iat = changed.exp - 600; }
  ctx.body.id_token = await new jose.SignJWT(changed)
    .setProtectedHeader({ alg: 'RS256', kid: 'test-key', typ: 'JWT' })
    .sign(privateKey);
});

function page(res, status, body) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Harbor work account</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><main>${body}</main></body></html>`);
}

async function readForm(req) {
  let raw = '';
  for await (const chunk of req) raw += chunk;
  return new URLSearchParams(raw);
}

async function interaction(req, res) {
  let details;
  try {
    details = await oidc.interactionDetails(req, res);
  } catch (error) {
    return page(res, 400, `<h1>Sign-in expired</h1><p>${escape(error.message)}</p>`);
  }
  if (req.method === 'POST') {
    const form = await readForm(req);
    const login = (form.get('login') || '').trim();
    if (!login || person(login).disabled) {
      return page(res, 200, `<h1>Harbor work account</h1><p role="alert">This account cannot sign in.</p>`);
    }
    const who = person(login);
    const amr = who.amr || (form.get('mfa') ? ['pwd', 'mfa'] : ['pwd']);
    lastMethods.set(login, amr);
    const result = { login: { accountId: login } };
    return oidc.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
  }
  if (details.prompt.name !== 'login') {
    return oidc.interactionFinished(req, res, {}, { mergeWithLastSubmission: true });
  }
  return page(res, 200, `<h1>Harbor work account</h1>
<form method="post" action="/interaction/${escape(details.uid)}">
<p><label for="login">Work account</label> <input id="login" name="login" autocomplete="username"></p>
<p><label for="password">Password</label> <input id="password" name="password" type="password"></p>
<p><label><input type="checkbox" name="mfa" value="1"> I also used my security key</label></p>
<p><button type="submit">Sign in</button></p></form>`);
}

const handler = oidc.callback();
http.createServer((req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => page(res, 500, escape(error.message)));
  } else {
    handler(req, res);
  }
}).listen(port, '127.0.0.1', () => console.log('OP ready'));
