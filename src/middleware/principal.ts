/**
 * Authentication: who is asking. Principals: `Authorization: Bearer <token>` (its SHA-256
 * compared in constant time with every configured hash) or, behind Cloudflare mTLS, the verified
 * client certificate's fingerprint — how the official RavenDB client authenticates. What the
 * principal may do is decided per route (access.ts), on the route's own matched parameters.
 *
 * AUTH = "off" (the local-development setting in wrangler.toml) makes everyone an open principal.
 * Requests this Worker makes to itself carry the principal they act for: multi_get's inner
 * requests act for the outer caller (and are authorized again, route by route); the Service
 * Binding's in-process requests act for a Worker of the same account, which is trusted.
 */
import type { Context } from "hono";
import { hex, parseGrants, type CertificateGrant, type Grant, type TokenGrant } from "../core/auth";
import { ErrorTypes, RavenError } from "../core/errors";
import type { AppEnv } from "./env";

export type Principal =
  /** AUTH is off: local development. */
  | { kind: "open" }
  /** A Worker of the same account, through the Service Binding's RPC methods. */
  | { kind: "service" }
  /** A caller with these grants (none when it presented no valid credential). */
  | { kind: "grants"; grants: readonly Grant[] };

/** Requests the Worker makes to itself, with the principal each acts for. */
const actingFor = new WeakMap<Request, Principal>();

/** The request will be authorized as `principal` (multi_get's inner requests). */
export function actFor(request: Request, principal: Principal): Request {
  actingFor.set(request, principal);
  return request;
}

/** A Service Binding's in-process request (trusted: same account). */
export function markInternal(request: Request): Request {
  return actFor(request, { kind: "service" });
}

/** The request's principal, found once per request. */
export async function principalOf(c: Context<AppEnv>): Promise<Principal> {
  const known = c.get("principal");
  if (known) return known;
  const env = c.env;
  const principal: Principal =
    actingFor.get(c.req.raw) ?? (env.AUTH === "off" ? { kind: "open" } : { kind: "grants", grants: await grantsOf(c.req.raw, env) });
  c.set("principal", principal);
  return principal;
}

let cached: { tokens: string | undefined; certs: string | undefined; grants: { tokens: TokenGrant[]; certs: CertificateGrant[] } } | null =
  null;

function configuredGrants(env: Env) {
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
      // Fail closed. The detail is for the operator's logs, not for whoever is knocking.
      console.error("authentication is misconfigured:", (err as Error).message);
      throw new RavenError(
        503,
        ErrorTypes.server,
        "The server is misconfigured and cannot authenticate requests; its operator has been told in the logs.",
      );
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

async function grantsOf(request: Request, env: Env): Promise<Grant[]> {
  const { tokens, certs } = configuredGrants(env);
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
