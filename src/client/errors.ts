/**
 * Typed errors, named after RavenDB's exceptions so code written against the official client reads
 * the same. The server answers `{Url, Type, Message, Error}`; the class is chosen by the last
 * dotted segment of `Type` (as the official client does), else by the HTTP status.
 */
import type { ConcurrencyViolation } from "./types.js";

/** What an error carries besides its message. All own, plain properties: they survive RPC. */
export interface ErrorDetails {
  /** HTTP status, when the error came from a response. */
  status?: number;
  /** The server's full exception type, e.g. `System.ArgumentException`. */
  type?: string;
  /** The request the server named in the envelope. */
  url?: string;
  /** Extra fields of the envelope (e.g. `ConcurrencyViolations`). */
  extra?: Record<string, unknown>;
  /** Violations already read (otherwise read from `extra.ConcurrencyViolations`). */
  violations?: ConcurrencyViolation[];
  cause?: unknown;
}

/** Base of every error this client throws. */
export class RavenException extends Error {
  readonly status: number | undefined;
  readonly type: string | undefined;
  readonly url: string | undefined;
  readonly extra: Record<string, unknown>;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    // From the registry, not `new.target.name`: a minifier may rename classes, never object keys.
    this.name = NAMES.get(new.target as ErrorClass) ?? new.target.name;
    this.status = details.status;
    this.type = details.type;
    this.url = details.url;
    this.extra = details.extra ?? {};
  }
}

/** 400: the request was refused as bad input. Retrying it unchanged never helps. */
export class BadRequestException extends RavenException {}
/** `System.ArgumentException`: a missing or malformed parameter (key, index, paging, name). */
export class ArgumentException extends BadRequestException {}
/** `System.ArgumentOutOfRangeException`: e.g. an unsupported command type in a batch. */
export class ArgumentOutOfRangeException extends ArgumentException {}
/** `System.IO.InvalidDataException`: a body that is not the expected JSON shape. */
export class InvalidDataException extends BadRequestException {}
/** `System.FormatException`: e.g. an unparseable `@expires`. */
export class FormatException extends BadRequestException {}
/** `System.InvalidOperationException`: e.g. two commands on one key in a batch. */
export class InvalidOperationException extends BadRequestException {}
/** `System.NotSupportedException`. */
export class NotSupportedException extends BadRequestException {}
/** `InvalidQueryException`: RQL outside the supported subset. */
export class InvalidQueryException extends BadRequestException {}
/** `RouteNotFoundException`: the server has no such endpoint (e.g. an older deployment). */
export class RouteNotFoundException extends BadRequestException {}
/** `CompareExchangeKeyTooBigException`: a key over 512 UTF-8 bytes. */
export class CompareExchangeKeyTooBigException extends BadRequestException {}
/** `CompareExchangeInvalidKeyException`: e.g. an `rvn-atomic/` key in a cluster-wide batch. */
export class CompareExchangeInvalidKeyException extends BadRequestException {}
/** 413: a value body over the server's limit (1 MiB). */
export class ValueTooLargeException extends BadRequestException {}

/** 409 `ConcurrencyException`: an optimistic-concurrency check failed. */
export class ConcurrencyException extends RavenException {}

/** 409 `ClusterTransactionConcurrencyException`: a cluster-wide transaction was refused, nothing applied. */
export class ClusterTransactionConcurrencyException extends ConcurrencyException {
  /** Which expectations failed. */
  readonly violations: ConcurrencyViolation[];

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
    this.violations = details.violations ?? readViolations(details.extra?.ConcurrencyViolations);
  }
}

/** 401/403 `AuthorizationException`: missing or insufficient credentials. */
export class AuthorizationException extends RavenException {}
/** `DatabaseDoesNotExistException` (503 with `Database-Missing`): not transient, never retried. */
export class DatabaseDoesNotExistException extends RavenException {}
/** `System.TimeoutException`: the server was overloaded; retried, then thrown. */
export class TimeoutException extends RavenException {}
/** A 5xx other than the above, after the retries ran out. */
export class ServiceUnavailableException extends RavenException {}
/** No answer at all (network error or per-attempt timeout) after the retries ran out. */
export class NetworkException extends RavenException {}
/** `acquireLock` gave up: the lock stayed held for the whole `waitMs`. */
export class LockTimeoutException extends RavenException {}
/** `renew` found the lease taken over or expired: the holder must stop using the resource. */
export class LockLostException extends RavenException {}

/**
 * A change stream asked to resume from further back than the server still holds (its change
 * history was pruned: see WATCH_HISTORY_RETENTION): read the current state again and watch from
 * there, or pass `onCompacted: "resync"` to `watch` to have the stream do it.
 */
export class HistoryCompactedException extends RavenException {
  /** Resuming from an index at or above this one would have worked. */
  readonly oldestIndex: number;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details);
    this.oldestIndex = Number(details.extra?.OldestIndex ?? -1);
  }
}

type ErrorClass = new (message: string, details?: ErrorDetails) => RavenException;

/**
 * Classes by RavenDB's short type name (the last dotted segment of `Type`), which is also each
 * class's `name`. Object keys survive minification; class names may not.
 */
const BY_NAME: Record<string, ErrorClass> = {
  RavenException,
  BadRequestException,
  ArgumentException,
  ArgumentOutOfRangeException,
  InvalidDataException,
  FormatException,
  InvalidOperationException,
  NotSupportedException,
  InvalidQueryException,
  RouteNotFoundException,
  CompareExchangeKeyTooBigException,
  CompareExchangeInvalidKeyException,
  ValueTooLargeException,
  ConcurrencyException,
  ClusterTransactionConcurrencyException,
  AuthorizationException,
  DatabaseDoesNotExistException,
  TimeoutException,
  ServiceUnavailableException,
  NetworkException,
  LockTimeoutException,
  LockLostException,
  HistoryCompactedException,
};
const NAMES = new Map(Object.entries(BY_NAME).map(([name, cls]) => [cls, name]));

function classFor(type: string | undefined, status: number): ErrorClass {
  const short = type?.slice(type.lastIndexOf(".") + 1);
  // 413 has RavenDB's ArgumentException type, but callers want to tell "too large" apart.
  if (status === 413) return ValueTooLargeException;
  const named = short ? BY_NAME[short] : undefined;
  if (named && named !== RavenException) return named;
  if (status === 400 || status === 422) return BadRequestException;
  if (status === 401 || status === 403) return AuthorizationException;
  if (status === 409) return ConcurrencyException;
  if (status >= 500) return ServiceUnavailableException;
  return RavenException;
}

/**
 * The error for a failed response: `body` is its text (the envelope, or anything else a proxy
 * may have answered), `databaseMissing` whether it carried the `Database-Missing` header.
 */
export function errorFromResponse(status: number, body: string, databaseMissing = false): RavenException {
  let envelope: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) envelope = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): fall back to the status.
  }
  const type = typeof envelope?.Type === "string" ? envelope.Type : undefined;
  const message =
    (typeof envelope?.Message === "string" && envelope.Message) ||
    (typeof envelope?.Error === "string" && envelope.Error) ||
    `HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ""}`;
  const cls = databaseMissing ? DatabaseDoesNotExistException : classFor(type, status);
  const { Url, Type: _type, Message: _message, Error: _error, ...extra } = envelope ?? {};
  return new cls(message, { status, type, url: typeof Url === "string" ? Url : undefined, extra });
}

/**
 * Rebuilds a typed error from one that crossed RPC: the runtime keeps an error's `name`, message
 * and own properties, but not its class.
 */
export function reviveError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof RavenException) return err;
  const cls = BY_NAME[err.name];
  if (!cls) return err;
  const own = err as Error & Partial<Pick<RavenException, "status" | "type" | "url" | "extra">>;
  return new cls(err.message, { status: own.status, type: own.type, url: own.url, extra: own.extra });
}

function readViolations(raw: unknown): ConcurrencyViolation[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((v: Record<string, unknown>) => ({
    type: v.Type === "Document" ? "Document" : "CompareExchange",
    id: String(v.Id),
    expected: Number(v.Expected),
    actual: Number(v.Actual),
  }));
}
