import { GatewayError, type ErrorCode } from '../errors.js'

/** Why an upstream attempt failed, as metrics and logs label it. */
export type FailureReason = 'connect' | 'timeout' | 'reset' | 'tls' | 'protocol' | 'client'

interface Mapping { code: ErrorCode, reason: FailureReason }

/**
 * The one place where low-level errors (errno, undici, TLS) become catalogue errors. The
 * original stays as `cause` for the error log; clients only ever see the catalogue message.
 */
const BY_CODE = new Map<string, Mapping>([
  ['ECONNREFUSED', { code: 'GW_UPSTREAM_UNAVAILABLE', reason: 'connect' }],
  ['EHOSTUNREACH', { code: 'GW_UPSTREAM_UNAVAILABLE', reason: 'connect' }],
  ['ENETUNREACH', { code: 'GW_UPSTREAM_UNAVAILABLE', reason: 'connect' }],
  ['EADDRNOTAVAIL', { code: 'GW_UPSTREAM_UNAVAILABLE', reason: 'connect' }],
  ['ENOTFOUND', { code: 'GW_UPSTREAM_UNAVAILABLE', reason: 'connect' }],
  ['EAI_AGAIN', { code: 'GW_UPSTREAM_UNAVAILABLE', reason: 'connect' }],
  ['UND_ERR_CONNECT_TIMEOUT', { code: 'GW_UPSTREAM_CONNECT_TIMEOUT', reason: 'timeout' }],
  ['UND_ERR_HEADERS_TIMEOUT', { code: 'GW_UPSTREAM_TIMEOUT', reason: 'timeout' }],
  ['UND_ERR_BODY_TIMEOUT', { code: 'GW_UPSTREAM_TIMEOUT', reason: 'timeout' }],
  ['ECONNRESET', { code: 'GW_UPSTREAM_RESET', reason: 'reset' }],
  ['EPIPE', { code: 'GW_UPSTREAM_RESET', reason: 'reset' }],
  ['UND_ERR_SOCKET', { code: 'GW_UPSTREAM_RESET', reason: 'reset' }],
  ['UND_ERR_CLOSED', { code: 'GW_UPSTREAM_RESET', reason: 'reset' }],
  // The client's body did not match its own Content-Length: the client's fault.
  ['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', { code: 'GW_BAD_REQUEST', reason: 'client' }]
])

const TLS_PREFIXES = ['ERR_TLS_', 'ERR_SSL_', 'CERT_', 'UNABLE_TO_', 'DEPTH_ZERO_', 'SELF_SIGNED_']

export interface MappedError { error: GatewayError, reason: FailureReason }

export function mapUpstreamError (err: unknown): MappedError {
  if (err instanceof GatewayError) return { error: err, reason: err.origin === 'upstream' ? 'protocol' : 'client' }
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : ''
  const m = BY_CODE.get(code)
  if (m !== undefined) return { error: new GatewayError(m.code, [], err), reason: m.reason }
  if (TLS_PREFIXES.some((p) => code.startsWith(p))) {
    return { error: new GatewayError('GW_UPSTREAM_TLS', [], err), reason: 'tls' }
  }
  return { error: new GatewayError('GW_UPSTREAM_ERROR', [], err), reason: 'protocol' }
}
