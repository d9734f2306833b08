/**
 * Authentication and authorization for every request. On unless AUTH is "off" (the local-dev
 * setting in wrangler.toml); a deployment without grants therefore refuses everything rather
 * than serving everyone. Principals: `Authorization: Bearer <token>` (its SHA-256 compared in
 * constant time with every configured hash) or, behind Cloudflare mTLS, the verified client
 * certificate's fingerprint — how the official RavenDB client authenticates. Every denial is
 * RavenDB's AuthorizationException (403).
 */
import type { MiddlewareHandler } from "hono";
import {
  allows,
  hex,
  parseGrants,
  requiredAccess,
  type CertificateGrant,
  type Grant,
  type TokenGrant,
} from "../core/auth";
import { ErrorTypes, RavenError } from "../core/errors";

interface AuthEnv {
  AUTH?: string;
  AUTH_TOKENS?: string;
  AUTH_CERTIFICATES?: string;
}

/** Requests this Worker makes to itself (multi_get's inner requests, the service binding). */
const internal = new WeakSet<Request>();

export function markInternal(request: Request): Request {
  internal.add(request);
  return request;
}

let cached: { tokens: string | undefined; certs: string | undefined; grants: { tokens: TokenGrant[]; certs: CertificateGrant[] } } | null = null;

function grantsOf(env: AuthEnv) {
  if (!cached || cached.tokens !== env.AUTH_TOKENS || cached.certs !== env.AUTH_CERTIFICATES) {
    try {
      cached = {
        tokens: env.AUTH_TOKENS,
        certs: env.AUTH_CERTIFICATES,
        grants: {
          tokens: parseGrants<TokenGrant>(env.AUTH_TOKENS, "sha256", "AUTH_TOKENS"),
          certs: parseGrants<CertificateGrant>(env.AUTH_CERTIFICATES, "sha1", "AUTH_CERTIFICATES"),
        },
      };
    } catch (err) {
      // Fail closed, and say why to the operator.
      throw new RavenError(503, ErrorTypes.server, `Authentication is misconfigured: ${(err as Error).message}`);
    }
  }
  return cached.grants;
}

const encoder = new TextEncoder();

/** Constant-time equality of two hex digests of equal length. */
function sameDigest(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  return x.length === y.length && crypto.subtle.timingSafeEqual(x, y);
}

async function principalGrants(request: Request, env: AuthEnv): Promise<Grant[]> {
  const { tokens, certs } = grantsOf(env);
  const found: Grant[] = [];
  const header = request.headers.get("Authorization") ?? "";
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  if (bearer) {
    const digest = hex(await crypto.subtle.digest("SHA-256", encoder.encode(bearer)));
    // Compare with every grant, matching or not, so the time taken says nothing about which.
    for (const grant of tokens) if (sameDigest(grant.sha256, digest)) found.push(grant);
  }
  const tls = (request as { cf?: { tlsClientAuth?: { certVerified?: string; certFingerprintSHA1?: string } } }).cf?.tlsClientAuth;
  if (tls?.certVerified === "SUCCESS" && tls.certFingerprintSHA1) {
    const fingerprint = tls.certFingerprintSHA1.toLowerCase();
    for (const grant of certs) if (sameDigest(grant.sha1, fingerprint)) found.push(grant);
  }
  return found;
}

export const authenticate: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const env = c.env as unknown as AuthEnv;
  if (env.AUTH === "off" || internal.has(c.req.raw)) return next();
  const url = new URL(c.req.url);
  const access = requiredAccess(c.req.method, url.pathname, url.searchParams);
  if (access.public) return next();
  const grants = await principalGrants(c.req.raw, env);
  if (!allows(grants, access)) {
    const who = grants.length === 0 ? "No valid token or client certificate was presented" : "The presented credentials do not grant it";
    const what = access.database === "*" ? `${access.role} access to the server` : `${access.role} access to database '${access.database}'`;
    throw new RavenError(403, ErrorTypes.authorization, `Forbidden: this request needs ${what}. ${who}.`);
  }
  return next();
};
