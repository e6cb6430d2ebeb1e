import { Counter, Gauge, type Registry } from 'prom-client'
import type { CertificateInfo } from '../tls/certificate.js'
import type { StatsdRecorder } from './statsd.js'

/** Why a TLS handshake with a client failed, as `gateway_tls_handshake_failures_total` labels it. */
export const TLS_FAILURES = ['http_request', 'protocol_version', 'no_shared_cipher', 'client_certificate', 'timeout', 'reset', 'other'] as const
export type TlsFailure = typeof TLS_FAILURES[number]

/** OpenSSL and Node error codes of `tlsClientError`, folded to the bounded reasons above. */
export function tlsFailureReason (code: string | undefined): TlsFailure {
  if (code === undefined) return 'other'
  if (code === 'ERR_SSL_HTTP_REQUEST') return 'http_request'
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'timeout'
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'reset'
  if (/VERSION|UNSUPPORTED_PROTOCOL/.test(code)) return 'protocol_version'
  if (/NO_SHARED_CIPHER|NO_CIPHERS|SHARED_GROUP/.test(code)) return 'no_shared_cipher'
  if (/CERTIFICATE|PEER_DID_NOT_RETURN|UNKNOWN_CA/.test(code)) return 'client_certificate'
  return 'other'
}

export interface TlsMetrics {
  handshakeFailed (reason: TlsFailure): void
}

/**
 * The TLS listeners' metrics, in the gateway's Prometheus registry: handshake failures by
 * reason (children bound once), and each served certificate's expiry, read from the listeners
 * at scrape time so a rotation shows at once. With StatsD on, the same two go there too
 * (counted as they happen; the expiry with the other gauges).
 */
export function createTlsMetrics (registry: Registry, certificates: () => Iterable<CertificateInfo>, statsd?: StatsdRecorder): TlsMetrics {
  const failures = new Counter({ name: 'gateway_tls_handshake_failures_total', help: 'TLS handshakes with clients that failed, by reason.', labelNames: ['reason'], registers: [registry] })
  const children = new Map(TLS_FAILURES.map((r) => [r, failures.labels(r)]))
  // eslint-disable-next-line no-new
  new Gauge({
    name: 'gateway_tls_certificate_expiry_timestamp_seconds',
    help: 'When each served certificate expires (Unix time), by its first name.',
    labelNames: ['name'],
    registers: [registry],
    collect () {
      this.reset()
      for (const c of certificates()) this.set({ name: c.names[0] ?? '' }, Math.floor(Date.parse(c.notAfter) / 1000))
    }
  })
  if (statsd !== undefined) statsd.certificates = certificates
  return {
    handshakeFailed: (reason) => {
      children.get(reason)!.inc()
      statsd?.tlsHandshakeFailed(reason)
    }
  }
}
