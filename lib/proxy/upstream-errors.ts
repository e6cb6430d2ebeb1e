import { GatewayError, type ErrorCode, type FailureReason } from '../errors.js'

export type { FailureReason }

/**
 * The one place where low-level errors (errno, undici, TLS) become catalogue errors. The
 * original stays as `cause` for the error log; clients only ever see the catalogue message.
 */
const BY_CODE = new Map<string, ErrorCode>([
  ['ECONNREFUSED', 'GW_UPSTREAM_UNAVAILABLE'],
  ['EHOSTUNREACH', 'GW_UPSTREAM_UNAVAILABLE'],
  ['ENETUNREACH', 'GW_UPSTREAM_UNAVAILABLE'],
  ['EADDRNOTAVAIL', 'GW_UPSTREAM_UNAVAILABLE'],
  ['ENOTFOUND', 'GW_UPSTREAM_UNAVAILABLE'],
  ['EAI_AGAIN', 'GW_UPSTREAM_UNAVAILABLE'],
  ['UND_ERR_CONNECT_TIMEOUT', 'GW_UPSTREAM_CONNECT_TIMEOUT'],
  ['UND_ERR_HEADERS_TIMEOUT', 'GW_UPSTREAM_TIMEOUT'],
  ['UND_ERR_BODY_TIMEOUT', 'GW_UPSTREAM_TIMEOUT'],
  ['ECONNRESET', 'GW_UPSTREAM_RESET'],
  ['EPIPE', 'GW_UPSTREAM_RESET'],
  ['UND_ERR_SOCKET', 'GW_UPSTREAM_RESET'],
  ['UND_ERR_CLOSED', 'GW_UPSTREAM_RESET'],
  // The client's body did not match its own Content-Length: the client's fault.
  ['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'GW_BAD_REQUEST']
])

/** The reason each upstream error is labelled with; any other code is the client's ('client'). */
const REASON_OF: Partial<Record<ErrorCode, FailureReason>> = {
  GW_UPSTREAM_UNAVAILABLE: 'connect',
  GW_UPSTREAM_CONNECT_TIMEOUT: 'timeout',
  GW_UPSTREAM_TIMEOUT: 'timeout',
  GW_UPSTREAM_RESET: 'reset',
  GW_UPSTREAM_TLS: 'tls',
  GW_UPSTREAM_ERROR: 'protocol'
}

const TLS_PREFIXES = ['ERR_TLS_', 'ERR_SSL_', 'CERT_', 'UNABLE_TO_', 'DEPTH_ZERO_', 'SELF_SIGNED_']

export interface MappedError { error: GatewayError, reason: FailureReason }

export function mapUpstreamError (err: unknown): MappedError {
  const error = err instanceof GatewayError ? err : new GatewayError(catalogueCode(err), [], err)
  return { error, reason: REASON_OF[error.code] ?? (error.origin === 'upstream' ? 'protocol' : 'client') }
}

function catalogueCode (err: unknown): ErrorCode {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : ''
  const mapped = BY_CODE.get(code)
  if (mapped !== undefined) return mapped
  return TLS_PREFIXES.some((p) => code.startsWith(p)) ? 'GW_UPSTREAM_TLS' : 'GW_UPSTREAM_ERROR'
}
