/**
 * `store`: where the config's revisions and the admin API's changes are kept
 * (docs/config-store.md). Absent: a state file beside the config file.
 *
 *   store:
 *     file: { path: /var/lib/ultrabalancer/gateway-state.json }
 *     history: 100          # changes GET /admin/config/history keeps
 *     instance: edge-1      # this gateway's name in the history (default: host name/pid)
 */
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { Type } from '@sinclair/typebox'
import { int, isObj, str, type Ctx, type Obj } from '../fields.js'
import { closed, Int, Name } from '../schema-parts.js'

export const STORE_DEFAULTS = Object.freeze({ history: 100 })
export const STORE_FILE_DEFAULTS = Object.freeze({ path: 'gateway-state.json' })

export const StoreSchema = Type.Object({
  file: Type.Optional(Type.Object({ path: Type.Optional(Name(STORE_FILE_DEFAULTS.path)) }, closed)),
  history: Type.Optional(Int(1, 10_000, STORE_DEFAULTS.history)),
  instance: Type.Optional(Name())
}, closed)

export interface StoreConfig {
  /** The state file, absolute (relative paths resolve against the config file's folder). */
  file: { path: string }
  history: number
  /** This gateway's name in the change history. */
  instance: string
}

export function normaliseStore (ctx: Ctx, o: Obj): StoreConfig {
  const file = isObj(o.file) ? o.file : {}
  return {
    file: { path: resolve(ctx.baseDir, str(file, 'path', STORE_FILE_DEFAULTS.path)) },
    history: int(o, 'history', STORE_DEFAULTS.history),
    instance: str(o, 'instance', `${hostname()}/${process.pid}`)
  }
}
