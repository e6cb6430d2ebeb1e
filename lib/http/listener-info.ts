import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'

/**
 * What the listener a request came in on says about it: whether its X-Forwarded-* are trusted,
 * the scheme (X-Forwarded-Proto), and for mTLS the header that carries the verified client
 * subject. Kept on each client server object (lib/traffic/listeners.ts sets it at start and on
 * reload) and read per request through the socket's server: one property read, no lookup.
 */
export interface ListenerInfo {
  readonly trustProxy: boolean
  readonly proto: 'http' | 'https'
  /** Lower-case header for the verified client certificate's subject; undefined: none. */
  readonly subjectHeader: string | undefined
}

const kInfo = Symbol('gateway.listenerInfo')

/** Before any listener is set up (tests that hand requests to the proxy directly). */
const PLAIN: ListenerInfo = Object.freeze({ trustProxy: false, proto: 'http', subjectHeader: undefined })

export function setListenerInfo (server: object, info: ListenerInfo): void {
  (server as { [kInfo]?: ListenerInfo })[kInfo] = info
}

export function listenerOf (req: IncomingMessage): ListenerInfo {
  return (req.socket as { server?: { [kInfo]?: ListenerInfo } }).server?.[kInfo] ?? PLAIN
}

/** The verified client certificate's subject ("CN=alice, O=Example"), or undefined when none was verified. */
export function verifiedSubject (req: IncomingMessage): string | undefined {
  return verifiedCertificate(req)?.subject
}

/**
 * The verified client certificate's subject and common name, or undefined when the connection
 * has none (plaintext, no certificate sent, or one that did not verify). Read only for routes
 * and listeners that ask (getPeerCertificate builds an object each time).
 */
export function verifiedCertificate (req: IncomingMessage): { subject: string, commonName: string } | undefined {
  const socket = req.socket as Partial<TLSSocket>
  if (socket.authorized !== true || typeof socket.getPeerCertificate !== 'function') return undefined
  const subject = socket.getPeerCertificate().subject as Record<string, string | string[]> | undefined
  if (subject === undefined) return undefined
  const cn = subject.CN
  return {
    subject: Object.entries(subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`).join(', '),
    commonName: Array.isArray(cn) ? cn.join('+') : cn ?? ''
  }
}
