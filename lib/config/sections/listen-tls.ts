/**
 * A client listener's `tls`: TLS termination. Certificates are read and checked here, at load
 * (lib/tls/certificate.ts), so a config with a certificate that does not parse, does not match
 * its key or has expired is refused with the file and the reason, and the running config keeps
 * serving. The listener reads them again when it (re)loads them (lib/tls/terminator.ts).
 */
import { resolve } from 'node:path'
import { Type } from '@sinclair/typebox'
import { duration, isObj, str, type Ctx, type Obj } from '../fields.js'
import { readCa } from './tls.js'
import type { Segments } from '../issues.js'
import { closed, Duration, HeaderName, Name, OneOf } from '../schema-parts.js'
import { CertificateError, loadCertificate, type CertificateSource } from '../../tls/certificate.js'

export const LISTEN_TLS_DEFAULTS = Object.freeze({
  minVersion: 'TLSv1.2' as const,
  handshakeTimeout: 10_000, // 10s, not Node's 120s: a stalled handshake holds a socket
  sessionTimeout: 300_000, // 5m, Node's default
  ticketKeyRotation: 3_600_000, // 1h
  clientCertificate: Object.freeze({ mode: 'off' as const })
})

const d = LISTEN_TLS_DEFAULTS

const CertificateSchema = Type.Object({
  cert: Name(),
  key: Name(),
  passphrase: Type.Optional(Type.String()),
  names: Type.Optional(Type.Array(Type.String({ pattern: '^(\\*\\.)?[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$' }), { minItems: 1 }))
}, closed)

export const ListenTlsSchema = Type.Object({
  certificates: Type.Array(CertificateSchema, { minItems: 1 }),
  minVersion: Type.Optional(OneOf(['TLSv1.2', 'TLSv1.3'], d.minVersion)),
  ciphers: Type.Optional(Name()),
  ecdhCurve: Type.Optional(Name()),
  handshakeTimeout: Type.Optional(Duration(d.handshakeTimeout)),
  sessionTimeout: Type.Optional(Duration(d.sessionTimeout)),
  ticketKeyRotation: Type.Optional(Duration(d.ticketKeyRotation)),
  clientCertificate: Type.Optional(Type.Object({
    mode: Type.Optional(OneOf(['off', 'request', 'require'], d.clientCertificate.mode)),
    ca: Type.Optional(Name()),
    header: Type.Optional(HeaderName)
  }, closed))
}, closed)

export interface ListenTlsConfig {
  /** The first is the default (clients without SNI, or with a name no certificate has). */
  certificates: CertificateSource[]
  minVersion: 'TLSv1.2' | 'TLSv1.3'
  /** OpenSSL cipher list for TLS 1.2; undefined: Node's default (tls.DEFAULT_CIPHERS). */
  ciphers?: string
  /** Colon-separated curve names; undefined: Node's default ("auto"). */
  ecdhCurve?: string
  handshakeTimeout: number
  sessionTimeout: number
  /** How often the session-ticket key is replaced (ms); 0 keeps the one made at start. */
  ticketKeyRotation: number
  clientCertificate: {
    mode: 'off' | 'request' | 'require'
    /** CA file the client certificates must chain to (required unless mode is off). */
    ca?: string
    /** Lower-case header the verified client's subject is forwarded in (a client's own is removed). */
    header?: string
  }
}

export function normaliseListenTls (ctx: Ctx, t: Obj, segs: Segments): ListenTlsConfig {
  const certificates: CertificateSource[] = []
  const list = Array.isArray(t.certificates) ? t.certificates : []
  list.forEach((c: unknown, i) => {
    if (!isObj(c) || typeof c.cert !== 'string' || typeof c.key !== 'string') return
    const src: CertificateSource = {
      cert: resolve(ctx.baseDir, c.cert),
      key: resolve(ctx.baseDir, c.key),
      ...(typeof c.passphrase === 'string' ? { passphrase: c.passphrase } : {}),
      ...(Array.isArray(c.names) ? { names: c.names.map((n) => String(n).toLowerCase()) } : {})
    }
    try {
      loadCertificate(src)
    } catch (err) {
      if (!(err instanceof CertificateError)) throw err
      ctx.issues.add([...segs, 'certificates', i, err.which], err.message)
    }
    certificates.push(src)
  })
  const cc = isObj(t.clientCertificate) ? t.clientCertificate : {}
  const mode = str(cc, 'mode', d.clientCertificate.mode) as ListenTlsConfig['clientCertificate']['mode']
  const clientCertificate: ListenTlsConfig['clientCertificate'] = { mode }
  if (typeof cc.ca === 'string') {
    clientCertificate.ca = resolve(ctx.baseDir, cc.ca)
    const problem = readCa(clientCertificate.ca).error
    if (problem !== undefined) ctx.issues.add([...segs, 'clientCertificate', 'ca'], problem)
  } else if (mode !== 'off') {
    ctx.issues.add([...segs, 'clientCertificate', 'ca'], `is required with mode ${mode}: the CA file client certificates must chain to`)
  }
  if (typeof cc.header === 'string') clientCertificate.header = cc.header.toLowerCase()
  const at = [...segs]
  return {
    certificates,
    minVersion: str(t, 'minVersion', d.minVersion) as ListenTlsConfig['minVersion'],
    ...(typeof t.ciphers === 'string' ? { ciphers: t.ciphers } : {}),
    ...(typeof t.ecdhCurve === 'string' ? { ecdhCurve: t.ecdhCurve } : {}),
    handshakeTimeout: duration(ctx, t, 'handshakeTimeout', at, d.handshakeTimeout, 1),
    sessionTimeout: duration(ctx, t, 'sessionTimeout', at, d.sessionTimeout, 1),
    ticketKeyRotation: duration(ctx, t, 'ticketKeyRotation', at, d.ticketKeyRotation, 0),
    clientCertificate
  }
}
