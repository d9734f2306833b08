/**
 * RavenDB's error envelope. Every failure answers `{Url, Type, Message, Error}`: the official client
 * names the exception it throws after the last dotted segment of `Type` and, for most statuses,
 * uses `Error` as its message (for 409 it uses `Message`), so both are always filled.
 */

import { MAX_ECHO_CHARS } from "./limits.js";

export const ErrorTypes = {
  argument: "System.ArgumentException",
  argumentOutOfRange: "System.ArgumentOutOfRangeException",
  invalidData: "System.IO.InvalidDataException",
  format: "System.FormatException",
  invalidOperation: "System.InvalidOperationException",
  notSupported: "System.NotSupportedException",
  /** What RavenDB's cluster throws when a command fails while it is applied (a cluster-wide batch). */
  rachisApply: "Raven.Server.Rachis.RachisApplyException",
  badRequest: "Raven.Client.Exceptions.BadRequestException",
  invalidQuery: "Raven.Client.Exceptions.InvalidQueryException",
  routeNotFound: "Raven.Client.Exceptions.Routing.RouteNotFoundException",
  keyTooBig: "Raven.Client.Exceptions.Documents.CompareExchange.CompareExchangeKeyTooBigException",
  invalidKey: "Raven.Client.Exceptions.Documents.CompareExchange.CompareExchangeInvalidKeyException",
  concurrency: "Raven.Client.Exceptions.ConcurrencyException",
  clusterTxConcurrency: "Raven.Client.Exceptions.ClusterTransactionConcurrencyException",
  databaseDoesNotExist: "Raven.Client.Exceptions.Database.DatabaseDoesNotExistException",
  authorization: "Raven.Client.Exceptions.Security.AuthorizationException",
  timeout: "System.TimeoutException",
  server: "Raven.Client.Exceptions.RavenException",
} as const;

export type ErrorType = (typeof ErrorTypes)[keyof typeof ErrorTypes];

export interface ErrorEnvelope {
  Url: string;
  Type: string;
  Message: string;
  Error: string;
  [extra: string]: unknown;
}

/**
 * A failure the service reports on purpose. Thrown anywhere in the request path (routes, core),
 * turned into the envelope by the app's error handler. Never thrown across RPC: objects return
 * values.
 */
export class RavenError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType | string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** Response headers that go with the error (e.g. Database-Missing). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = type.slice(type.lastIndexOf(".") + 1);
  }

  envelope(url: string): ErrorEnvelope {
    // Both may carry user input (a URL is as long as the client makes it): bounded, always.
    const message = echo(this.message, MAX_MESSAGE_CHARS);
    return {
      Url: echo(url, MAX_URL_CHARS),
      Type: this.type,
      Message: message,
      // RavenDB puts the exception's full text here; we have no stack worth showing a client.
      Error: `${this.type}: ${message}`,
      ...this.extra,
    };
  }
}

/** Backstops for messages and URLs in the envelope; messages cut their own echoes shorter (`echo`). */
const MAX_MESSAGE_CHARS = 1000;
const MAX_URL_CHARS = 500;

export const badInput = (type: ErrorType, message: string) => new RavenError(400, type, message);

/**
 * User input quoted in an error message, cut to a bounded length so that an error never echoes
 * a megabyte back (or three copies of a 60,000-byte key).
 */
export function echo(input: string, max = MAX_ECHO_CHARS): string {
  if (input.length <= max) return input;
  return `${input.slice(0, max)}… (${input.length - max} more characters)`;
}
