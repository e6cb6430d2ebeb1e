/**
 * A pool's `tls`, for https:// backends. The CA file is read here, at load, so a bad path or a
 * file without a certificate is a startup error rather than a failed request.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Type } from '@sinclair/typebox'
import { bool, fsReason, type Ctx, type Obj } from '../fields.js'
import { Bool, closed, Name } from '../schema-parts.js'

export const TLS_DEFAULTS = Object.freeze({ rejectUnauthorized: true })

export const TlsSchema = Type.Object({
  caFile: Type.Optional(Name()),
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
  return tls
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
