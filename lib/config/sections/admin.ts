/**
 * `admin`: the admin server's address and the bearer token that guards /admin. Off loopback a
 * token is required, since the admin API changes backends.
 */
import { Type } from '@sinclair/typebox'
import { int, str, type Ctx, type Obj } from '../fields.js'
import { closed, Name, Port } from '../schema-parts.js'

export const ADMIN_DEFAULTS = Object.freeze({ host: '127.0.0.1', port: 9901, token: '' })

const d = ADMIN_DEFAULTS

export const AdminSchema = Type.Object({
  host: Type.Optional(Name(d.host)),
  port: Type.Optional(Port(d.port)),
  token: Type.Optional(Type.String({ default: d.token }))
}, closed)

export interface AdminConfig {
  host: string
  port: number
  /** Bearer token for /admin; empty string means none. */
  token: string
}

export function normaliseAdmin (ctx: Ctx, o: Obj): AdminConfig {
  const admin = { host: str(o, 'host', d.host), port: int(o, 'port', d.port), token: str(o, 'token', d.token) }
  // The admin API changes backends: off loopback, it must not be open to whoever can reach it.
  if (admin.token === '' && !isLoopback(admin.host)) {
    ctx.issues.add(['admin', 'token'], `required when admin.host (${admin.host}) is not a loopback address; set a long random token, e.g. token: "\${GATEWAY_ADMIN_TOKEN}"`)
  }
  return admin
}

function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
