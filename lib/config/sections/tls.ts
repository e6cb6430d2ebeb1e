/**
 * A pool's `tls`, for https:// backends. The CA file, and the client certificate and key for
 * mTLS to backends, are read and checked here, at load, so a bad path, a file without a
 * certificate, a key that does not match or an expired certificate is a config error (with the
 * field's path) rather than a failed request. A reload reads them again (rotation).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Type } from '@sinclair/typebox'
import { bool, fsReason, type Ctx, type Obj } from '../fields.js'
import { Bool, closed, Name } from '../schema-parts.js'
import { CertificateError, loadCertificate } from '../../tls/certificate.js'

export const TLS_DEFAULTS = Object.freeze({ rejectUnauthorized: true })

export const TlsSchema = Type.Object({
  caFile: Type.Optional(Name()),
  certFile: Type.Optional(Name()),
  keyFile: Type.Optional(Name()),
  passphrase: Type.Optional(Type.String()),
  rejectUnauthorized: Type.Optional(Bool(TLS_DEFAULTS.rejectUnauthorized)),
  servername: Type.Optional(Name())
}, closed)

export interface TlsConfig {
  /** PEM text of extra CA certificates, read from `caFile` at load. */
  ca?: string
  caFile?: string
  /** False only for self-signed test setups: skips certificate verification. */
  rejectUnauthorized: boolean
  /** SNI / certificate name override; defaults to the backend's host. */
  servername?: string
  /** mTLS to backends: the client certificate (PEM, with its chain) and key sent to https:// backends. */
  certFile?: string
  keyFile?: string
  /** PEM texts read from certFile and keyFile at load; passphrase for an encrypted key (e.g. "${KEY_PASS}"). */
  cert?: string
  key?: string
  passphrase?: string
}

export function normaliseTls (ctx: Ctx, t: Obj, segs: string[]): TlsConfig {
  const tls: TlsConfig = { rejectUnauthorized: bool(t, 'rejectUnauthorized', TLS_DEFAULTS.rejectUnauthorized) }
  if (typeof t.servername === 'string') tls.servername = t.servername
  if (typeof t.caFile === 'string') {
    const file = resolve(ctx.baseDir, t.caFile)
    tls.caFile = file
    const ca = readCa(file)
    if (ca.error !== undefined) ctx.issues.add([...segs, 'caFile'], ca.error)
    else tls.ca = ca.text
  }
  clientCertificate(ctx, t, segs, tls)
  return tls
}

/** certFile and keyFile: both or neither, checked as a listener's certificates are (lib/tls/certificate.ts). */
function clientCertificate (ctx: Ctx, t: Obj, segs: string[], tls: TlsConfig): void {
  const hasCert = typeof t.certFile === 'string'
  const hasKey = typeof t.keyFile === 'string'
  if (!hasCert && !hasKey) return
  if (hasCert !== hasKey) {
    ctx.issues.add([...segs, hasCert ? 'keyFile' : 'certFile'], `a client certificate needs both certFile and keyFile; ${hasCert ? 'keyFile' : 'certFile'} is missing`)
    return
  }
  tls.certFile = resolve(ctx.baseDir, t.certFile as string)
  tls.keyFile = resolve(ctx.baseDir, t.keyFile as string)
  const passphrase = typeof t.passphrase === 'string' ? t.passphrase : undefined
  try {
    // Client certificates need not name a host: the names check is given one to pass.
    const loaded = loadCertificate({ cert: tls.certFile, key: tls.keyFile, passphrase, names: ['client'] })
    tls.cert = loaded.pem.cert
    tls.key = loaded.pem.key
    if (passphrase !== undefined) tls.passphrase = passphrase
  } catch (err) {
    if (!(err instanceof CertificateError)) throw err
    ctx.issues.add([...segs, err.which === 'cert' ? 'certFile' : 'keyFile'], err.message)
  }
}

/** Reads a PEM CA file; `error` says why it cannot be used (also for listeners' client CAs, sections/listen-tls.ts). */
export function readCa (file: string): { text?: string, error?: string } {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    return { error: `cannot read CA file ${file}: ${fsReason(err)}` }
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) return { error: `CA file ${file} holds no PEM certificate (no "-----BEGIN CERTIFICATE-----" line)` }
  return { text }
}
