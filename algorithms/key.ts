import { Type, type Static } from '@sinclair/typebox'
import type { KeySource } from './types.js'

/**
 * The `key` option shared by key-based algorithms (consistent-hash):
 * `key: ip`, `key: path`, `key: { header: x-user }` or `key: { cookie: session }`.
 */
export const KeyOption = Type.Union([
  Type.Literal('ip'),
  Type.Literal('path'),
  Type.Object({ header: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
  Type.Object({ cookie: Type.String({ minLength: 1 }) }, { additionalProperties: false })
], { description: 'ip, path, { header: NAME } or { cookie: NAME }' })

export type KeyOptionValue = Static<typeof KeyOption>

/** The KeySource the proxy extracts for a `key` option value. Header names are lower-cased. */
export function keySource (k: KeyOptionValue): KeySource {
  if (k === 'ip') return { from: 'ip' }
  if (k === 'path') return { from: 'path' }
  if ('header' in k) return { from: 'header', name: k.header.toLowerCase() }
  return { from: 'cookie', name: k.cookie }
}
