/**
 * `store`: where the config's revisions and the admin API's changes are kept
 * (docs/config-store.md). Absent: a state file beside the config file.
 *
 *   store:
 *     file: { path: /var/lib/ultrabalancer/gateway-state.json }
 *     # or, for a fleet (instead of file):
 *     etcd: { endpoints: [http://10.0.0.5:2379], prefix: /ultrabalancer/prod/, dialTimeout: 2s,
 *             username: gw, password: ${ETCD_PASSWORD}, tls: { caFile, certFile, keyFile },
 *             leaseTtl: 10s, snapshot: ./gateway-etcd-snapshot.json }
 *     # shared rate-limit counters (with either of the two above):
 *     redis: { url: redis://10.0.0.6:6379, prefix: "ultrabalancer:ratelimit:", timeout: 200ms }
 *     history: 100          # changes GET /admin/config/history keeps
 *     instance: edge-1      # this gateway's name in the history (default: host name/pid)
 */
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { Type } from '@sinclair/typebox'
import { duration, int, isObj, str, type Ctx, type Obj } from '../fields.js'
import { closed, Duration, Int, Name } from '../schema-parts.js'

export const STORE_DEFAULTS = Object.freeze({ history: 100 })
export const STORE_FILE_DEFAULTS = Object.freeze({ path: 'gateway-state.json' })
export const STORE_ETCD_DEFAULTS = Object.freeze({ prefix: '/ultrabalancer/', dialTimeout: 2000, leaseTtl: 10_000, snapshot: 'gateway-etcd-snapshot.json' })

export const STORE_REDIS_DEFAULTS = Object.freeze({ prefix: 'ultrabalancer:ratelimit:', timeout: 200 })

const RedisSchema = Type.Object({
  url: Type.String({ pattern: '^rediss?://', description: 'a Redis URL (redis://[user:password@]host:6379[/db], rediss:// for TLS)' }),
  prefix: Type.Optional(Type.String({ default: STORE_REDIS_DEFAULTS.prefix })),
  timeout: Type.Optional(Duration(STORE_REDIS_DEFAULTS.timeout))
}, closed)

const EtcdSchema = Type.Object({
  endpoints: Type.Array(Type.String({ pattern: '^https?://[^/]+/?$', description: 'an etcd client URL (http://host:2379)' }), { minItems: 1 }),
  prefix: Type.Optional(Type.String({ pattern: '^/', description: 'a key prefix starting with /', default: STORE_ETCD_DEFAULTS.prefix })),
  dialTimeout: Type.Optional(Duration(STORE_ETCD_DEFAULTS.dialTimeout)),
  username: Type.Optional(Name()),
  password: Type.Optional(Type.String()),
  tls: Type.Optional(Type.Object({ caFile: Type.Optional(Name()), certFile: Type.Optional(Name()), keyFile: Type.Optional(Name()) }, closed)),
  leaseTtl: Type.Optional(Duration(STORE_ETCD_DEFAULTS.leaseTtl)),
  snapshot: Type.Optional(Name(STORE_ETCD_DEFAULTS.snapshot))
}, closed)

export const StoreSchema = Type.Object({
  file: Type.Optional(Type.Object({ path: Type.Optional(Name(STORE_FILE_DEFAULTS.path)) }, closed)),
  etcd: Type.Optional(EtcdSchema),
  redis: Type.Optional(RedisSchema),
  history: Type.Optional(Int(1, 10_000, STORE_DEFAULTS.history)),
  instance: Type.Optional(Name())
}, closed)

export interface StoreConfig {
  /** The state file, absolute (relative paths resolve against the config file's folder). */
  file: { path: string }
  /** Set: the fleet store in etcd instead of the file (lib/store/open-etcd.ts). */
  etcd?: EtcdStoreConfig
  /** Set: rate limits count in Redis, shared by every gateway using it (lib/traffic/rate-redis.ts). */
  redis?: { url: string, prefix: string, timeout: number }
  history: number
  /** This gateway's name in the change history. */
  instance: string
}

export interface EtcdStoreConfig {
  endpoints: string[]
  /** Ends with "/". */
  prefix: string
  dialTimeout: number
  username?: string
  password?: string
  /** Absolute paths. */
  tls?: { caFile?: string, certFile?: string, keyFile?: string }
  /** ms; registrations expire this long after their gateway stopped renewing them. */
  leaseTtl: number
  /** The local last-known-good copy of the fleet config, absolute. */
  snapshot: string
}

export function normaliseStore (ctx: Ctx, o: Obj): StoreConfig {
  const file = isObj(o.file) ? o.file : {}
  if (isObj(o.file) && isObj(o.etcd)) ctx.issues.add(['store'], 'set file or etcd, not both: etcd keeps the config itself (its local copy is store.etcd.snapshot)')
  return {
    file: { path: resolve(ctx.baseDir, str(file, 'path', STORE_FILE_DEFAULTS.path)) },
    ...(isObj(o.etcd) ? { etcd: normaliseEtcd(ctx, o.etcd) } : {}),
    ...(isObj(o.redis)
      ? { redis: { url: str(o.redis, 'url', ''), prefix: str(o.redis, 'prefix', STORE_REDIS_DEFAULTS.prefix), timeout: duration(ctx, o.redis, 'timeout', ['store', 'redis'], STORE_REDIS_DEFAULTS.timeout, 1) } }
      : {}),
    history: int(o, 'history', STORE_DEFAULTS.history),
    instance: str(o, 'instance', `${hostname()}/${process.pid}`)
  }
}

function normaliseEtcd (ctx: Ctx, e: Obj): EtcdStoreConfig {
  const at = ['store', 'etcd']
  const prefix = str(e, 'prefix', STORE_ETCD_DEFAULTS.prefix)
  const leaseTtl = duration(ctx, e, 'leaseTtl', at, STORE_ETCD_DEFAULTS.leaseTtl, 1)
  if (leaseTtl < 2000) ctx.issues.add([...at, 'leaseTtl'], 'must be at least 2s (etcd lease TTLs are whole seconds, renewed every third of the TTL)')
  if (e.password !== undefined && e.username === undefined) ctx.issues.add([...at, 'password'], 'needs username')
  const tls = isObj(e.tls) ? e.tls : undefined
  const file = (k: string): Record<string, string> => tls !== undefined && typeof tls[k] === 'string' ? { [k]: resolve(ctx.baseDir, tls[k]) } : {}
  return {
    endpoints: (Array.isArray(e.endpoints) ? e.endpoints.filter((x): x is string => typeof x === 'string') : []).map((x) => x.replace(/\/$/, '')),
    prefix: prefix.endsWith('/') ? prefix : `${prefix}/`,
    dialTimeout: duration(ctx, e, 'dialTimeout', at, STORE_ETCD_DEFAULTS.dialTimeout, 1),
    ...(typeof e.username === 'string' ? { username: e.username, password: str(e, 'password', '') } : {}),
    ...(tls === undefined ? {} : { tls: { ...file('caFile'), ...file('certFile'), ...file('keyFile') } }),
    leaseTtl,
    snapshot: resolve(ctx.baseDir, str(e, 'snapshot', STORE_ETCD_DEFAULTS.snapshot))
  }
}
