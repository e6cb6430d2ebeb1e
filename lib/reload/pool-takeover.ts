import type { PoolConfig } from '../config/types.js'
import type { Algorithm } from '../../algorithms/types.js'
import type { Backend } from '../backend.js'
import { BackendPool, type PoolDeps } from '../pool.js'

/** The Backend fields BackendPool's constructor sets on a backend it takes over. */
const TAKEOVER_FIELDS = ['configWeight', 'ejected', 'enabled', 'draining', 'breaker', 'maxInFlight'] as const
type TakeoverFields = Pick<Backend, typeof TAKEOVER_FIELDS[number]>

/** New pools for a reload, built but not yet in force. */
export interface Successors {
  /** The new pools by name; nothing routes to them before commit(). */
  readonly pools: ReadonlyMap<string, BackendPool>
  /** Whether `b` was taken over by its pool's successor. */
  takenOver: (b: Backend) => boolean
  /** Gives the taken-over backends and shared algorithms what the successors set. Cannot fail. */
  commit: () => void
  /** Closes the connections of the backends only the successors had; the running pools are untouched. */
  abort: () => void
}

/**
 * Builds the successors of the running pools, each taking over the backends that keep their id,
 * URL and connection settings (and its algorithm instance when the algorithm config is
 * unchanged), without changing what the running pools serve with.
 *
 * BackendPool's constructor changes the backends it takes over (weight, drain, enable and
 * ejection flags, breaker) and updates a shared algorithm with the new list, at once. Here that
 * happens inside one synchronous block that then puts the running values back, so no request
 * sees them; commit() applies them again. TODO(lib/pool.ts rewrite): a takeover in two steps in
 * BackendPool itself would remove this snapshot and the cast in algorithmOf().
 */
export function buildSuccessors (configs: Readonly<Record<string, PoolConfig>>, deps: PoolDeps, running: ReadonlyMap<string, BackendPool>): Successors {
  const before = new Map<Backend, TakeoverFields>()
  for (const pool of running.values()) for (const b of pool.backends) before.set(b, fieldsOf(b))
  const built = new Map<string, BackendPool>()
  const shared: Array<{ old: BackendPool, successor: BackendPool }> = []
  const putBack = (): void => {
    for (const [b, fields] of before) Object.assign(b, fields)
    for (const { old } of shared) algorithmOf(old).update(old.backends)
  }
  const closeNew = (): void => {
    for (const pool of built.values()) pool.retireExcept(new Set(pool.backends.filter((b) => before.has(b))))
  }

  // No await from here to the return: the running pools are restored before anything else runs.
  try {
    for (const [name, cfg] of Object.entries(configs)) {
      const old = running.get(name)
      const successor = new BackendPool(cfg, deps, old)
      built.set(name, successor)
      if (old !== undefined && algorithmOf(old) === algorithmOf(successor)) shared.push({ old, successor })
    }
  } catch (err) {
    putBack()
    closeNew()
    throw err
  }
  const after = new Map<Backend, TakeoverFields>()
  for (const pool of built.values()) for (const b of pool.backends) if (before.has(b)) after.set(b, fieldsOf(b))
  putBack()

  return {
    pools: built,
    takenOver: (b) => after.has(b),
    commit: () => {
      for (const [b, fields] of after) Object.assign(b, fields)
      for (const { successor } of shared) algorithmOf(successor).update(successor.backends)
    },
    abort: closeNew
  }
}

function fieldsOf (b: Backend): TakeoverFields {
  const out: Partial<Record<keyof TakeoverFields, unknown>> = {}
  for (const k of TAKEOVER_FIELDS) out[k] = b[k]
  return out as TakeoverFields
}

/** The pool's algorithm instance (private to BackendPool; see the TODO above). */
function algorithmOf (pool: BackendPool): Algorithm<Backend> {
  return (pool as unknown as { algorithm: Algorithm<Backend> }).algorithm
}
