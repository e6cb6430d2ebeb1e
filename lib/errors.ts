/**
 * The one error catalogue. Each entry: code (equal to its key), HTTP status, a message with
 * %s placeholders, where the fault lies (downstream = client, upstream = backend, internal =
 * gateway or its config) and whether another attempt could succeed. docs/errors.md lists the
 * same codes; test/errors-catalogue.test.ts keeps the two in step.
 *
 * Messages go to clients: they never contain addresses, errno strings or stack traces.
 */

export type ErrorOrigin = 'downstream' | 'upstream' | 'internal'

/** Why an attempt at a backend failed, as metrics, logs and outlier detection label it. */
export type FailureReason = 'connect' | 'timeout' | 'reset' | 'tls' | 'protocol' | 'client'

/** Why a try counts as failed: a failure, or an answer status the pool retries ('status'). */
export type AttemptFailure = FailureReason | 'status'

export interface ErrorDef {
  readonly code: string
  readonly status: number
  readonly message: string
  readonly origin: ErrorOrigin
  readonly retryable: boolean
}

function def (code: string, status: number, origin: ErrorOrigin, retryable: boolean, message: string): ErrorDef {
  return Object.freeze({ code, status, origin, retryable, message })
}

export const codes = {
  GW_BAD_REQUEST: def('GW_BAD_REQUEST', 400, 'downstream', false,
    'The request is malformed and was not forwarded'),
  GW_PLAIN_HTTP_ON_TLS: def('GW_PLAIN_HTTP_ON_TLS', 400, 'downstream', false,
    'This port speaks HTTPS; a plain HTTP request was received and not forwarded'),
  GW_TLS_ON_PLAIN_PORT: def('GW_TLS_ON_PLAIN_PORT', 400, 'downstream', false,
    'This port speaks plain HTTP; a TLS handshake was received and not forwarded'),
  GW_REQUEST_TIMEOUT: def('GW_REQUEST_TIMEOUT', 408, 'downstream', false,
    'The request was not received in time'),
  GW_HEADERS_TOO_LARGE: def('GW_HEADERS_TOO_LARGE', 431, 'downstream', false,
    'The request headers are larger than the gateway accepts'),
  GW_BODY_TOO_LARGE: def('GW_BODY_TOO_LARGE', 413, 'downstream', false,
    'The request body is larger than this route accepts (%s bytes)'),
  GW_METHOD_NOT_ALLOWED: def('GW_METHOD_NOT_ALLOWED', 405, 'downstream', false,
    'The %s method is not supported by this gateway'),
  GW_RATE_LIMITED: def('GW_RATE_LIMITED', 429, 'downstream', true,
    'Too many requests; try again in %s seconds'),
  GW_ROUTE_NOT_FOUND: def('GW_ROUTE_NOT_FOUND', 404, 'downstream', false,
    'No route matches this request'),
  GW_NO_BACKEND: def('GW_NO_BACKEND', 503, 'upstream', true,
    'No backend of pool "%s" is ready to take the request; try again later'),
  GW_STARTING: def('GW_STARTING', 503, 'internal', true,
    'The gateway is starting and cannot take requests yet; try again'),
  GW_SHUTTING_DOWN: def('GW_SHUTTING_DOWN', 503, 'internal', true,
    'The gateway is shutting down and takes no new connections; try again'),
  GW_UPSTREAM_UNAVAILABLE: def('GW_UPSTREAM_UNAVAILABLE', 502, 'upstream', true,
    'The backend could not be reached'),
  GW_UPSTREAM_RESET: def('GW_UPSTREAM_RESET', 502, 'upstream', true,
    'The backend closed the connection before answering'),
  GW_UPSTREAM_TLS: def('GW_UPSTREAM_TLS', 502, 'upstream', false,
    'The TLS handshake with the backend failed'),
  GW_UPSTREAM_ERROR: def('GW_UPSTREAM_ERROR', 502, 'upstream', false,
    'The backend sent an invalid response'),
  GW_UPSTREAM_CONNECT_TIMEOUT: def('GW_UPSTREAM_CONNECT_TIMEOUT', 504, 'upstream', true,
    'The backend did not accept the connection in time'),
  GW_UPSTREAM_TIMEOUT: def('GW_UPSTREAM_TIMEOUT', 504, 'upstream', true,
    'The backend did not answer in time'),
  GW_INTERNAL: def('GW_INTERNAL', 500, 'internal', false,
    'The gateway failed to handle the request'),
  GW_ADMIN_UNAUTHORIZED: def('GW_ADMIN_UNAUTHORIZED', 401, 'downstream', false,
    'A valid admin token is required: send Authorization: Bearer <admin.token>'),
  GW_ADMIN_BAD_REQUEST: def('GW_ADMIN_BAD_REQUEST', 400, 'downstream', false,
    'Invalid admin request: %s'),
  GW_ADMIN_NOT_FOUND: def('GW_ADMIN_NOT_FOUND', 404, 'downstream', false,
    '%s'),
  GW_ADMIN_CONFLICT: def('GW_ADMIN_CONFLICT', 409, 'downstream', false,
    '%s'),
  GW_CONFIG_REVISION_MOVED: def('GW_CONFIG_REVISION_MOVED', 409, 'downstream', true,
    'The config is at revision %s, not %s (If-Match): read it again and retry the change on the new revision'),
  GW_STORE_UNAVAILABLE: def('GW_STORE_UNAVAILABLE', 503, 'internal', true,
    'The config store cannot be written (%s); nothing was changed, and the gateway keeps serving its config'),
  GW_CONFIG_BEHIND: def('GW_CONFIG_BEHIND', 409, 'downstream', false,
    'This gateway could not apply the fleet config at revision %s (%s), so it takes no config change until it can; make the change on another gateway of the fleet, or fix this one (its log says why)'),
  GW_FLEET_UNAVAILABLE: def('GW_FLEET_UNAVAILABLE', 503, 'internal', true,
    'The fleet store cannot be read (%s): the member list is unknown for now; this gateway keeps serving'),
  GW_CONFIG_INVALID: def('GW_CONFIG_INVALID', 400, 'internal', false,
    'The configuration is invalid: %s')
} as const

export type ErrorCode = keyof typeof codes

/**
 * An error from the catalogue, with the low-level error (if any) kept as `cause`.
 *
 * Fastify-native: `statusCode` is what Fastify reads from an error thrown or passed to a reply,
 * so a hook or route may simply throw one; every listener renders it the same way
 * (lib/proxy/respond.ts for the proxy's raw responses and sockets, lib/http/error-reply.ts for
 * Fastify's lifecycle), with the headers of lib/http/error-headers.ts.
 */
export class GatewayError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number
  readonly origin: ErrorOrigin
  /** From the catalogue: whether another attempt (at another backend) could succeed. */
  readonly retryable: boolean

  constructor (code: ErrorCode, args: ReadonlyArray<string | number> = [], cause?: unknown) {
    const d = codes[code]
    super(format(d.message, args), cause === undefined ? undefined : { cause })
    this.name = 'GatewayError'
    this.code = code
    this.statusCode = d.status
    this.origin = d.origin
    this.retryable = d.retryable
  }

  /** The JSON body sent to clients: code and message only. */
  toBody (): string {
    return JSON.stringify({ error: this.code, message: this.message })
  }
}

function format (message: string, args: ReadonlyArray<string | number>): string {
  let i = 0
  return message.replace(/%s/g, () => (i < args.length ? String(args[i++]) : '%s'))
}

/**
 * Bodies of argument-free errors, rendered once at load so the error path does no JSON work
 * for the common cases.
 */
export const staticBodies: Readonly<Partial<Record<ErrorCode, string>>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(codes) as ErrorCode[])
      .filter((c) => !codes[c].message.includes('%s'))
      .map((c) => [c, new GatewayError(c).toBody()])
  )
)
