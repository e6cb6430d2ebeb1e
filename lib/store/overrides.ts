import type { BackendConfig, GatewayConfig } from '../config/types.js'
import type { BackendOverride, AddedBackend, Overrides, PoolOverrides } from './types.js'

/**
 * The admin API's backend changes as data (pure functions: no pool is touched here). The config
 * store keeps them on top of the config document, so a restart or a reload of the file keeps
 * them (docs/config-store.md, "The file and the API").
 */

const empty = (): PoolOverrides => ({ remove: [], add: [], set: {} })

/**
 * `config` with `ov` applied: backends removed, added, re-weighted, disabled or drained. What no
 * longer applies (its pool or backend left the document, an added backend the document now has
 * itself, a backend of the wrong kind for the pool) is left out of `kept` and said in `dropped`,
 * one line each, so the caller can report it: nothing is dropped silently.
 */
export function applyOverrides (config: GatewayConfig, ov: Overrides): { config: GatewayConfig, kept: Overrides, dropped: string[] } {
  const dropped: string[] = []
  const kept: Overrides = {}
  const pools = { ...config.pools }
  for (const [name, o] of Object.entries(ov)) {
    const pool = pools[name]
    if (pool === undefined) {
      dropped.push(`pool "${name}" is no longer in the config: its admin API changes are dropped (${describe(o)})`)
      continue
    }
    const k = empty()
    const inDoc = new Set(pool.backends.map((b) => b.id))
    for (const id of o.remove) {
      if (inDoc.has(id)) k.remove.push(id)
      else dropped.push(`${name}/${id} was removed through the admin API and is no longer in the config either`)
    }
    let backends: BackendConfig[] = pool.backends.filter((b) => !k.remove.includes(b.id))
    for (const a of o.add) {
      // An id the document has is dropped, unless the document's backend was removed first
      // (DELETE, then POST with the same id: the API's backend replaces it).
      if (inDoc.has(a.id) && !k.remove.includes(a.id)) dropped.push(`${name}/${a.id} was added through the admin API and is now in the config: the config's entry is used`)
      else if (a.url.startsWith('tcp:') !== (pool.protocol === 'tcp')) dropped.push(`${name}/${a.id} (${a.url}) was added through the admin API but pool "${name}" now takes ${pool.protocol === 'tcp' ? 'tcp://' : 'http(s)://'} backends`)
      else {
        k.add.push(a)
        backends.push({ id: a.id, url: a.url, weight: a.weight, enabled: true, drain: false })
      }
    }
    const present = new Set(backends.map((b) => b.id))
    for (const [id, s] of Object.entries(o.set)) {
      if (present.has(id)) k.set[id] = s
      else if (!o.remove.includes(id)) dropped.push(`${name}/${id} is no longer in the config: its admin API change (${setText(s)}) is dropped`)
    }
    backends = backends.map((b) => {
      const s = k.set[b.id]
      return s === undefined ? b : { ...b, weight: s.weight ?? b.weight, enabled: s.enabled ?? b.enabled, drain: s.drain ?? b.drain }
    })
    if (k.remove.length + k.add.length + Object.keys(k.set).length > 0) kept[name] = k
    pools[name] = { ...pool, backends }
  }
  return { config: { ...config, pools }, kept, dropped }
}

/** `ov` with backend `b` added to `pool`. */
export function withAdded (ov: Overrides, pool: string, b: AddedBackend): Overrides {
  const o = copy(ov, pool)
  o.add = [...o.add.filter((x) => x.id !== b.id), b]
  return { ...ov, [pool]: o }
}

/** `ov` with backend `id` of `pool` gone (an added one is forgotten, a document's one recorded as removed). */
export function withRemoved (ov: Overrides, pool: string, id: string): Overrides {
  const o = copy(ov, pool)
  if (o.add.some((x) => x.id === id)) o.add = o.add.filter((x) => x.id !== id)
  else if (!o.remove.includes(id)) o.remove = [...o.remove, id]
  const { [id]: _gone, ...set } = o.set
  o.set = set
  return { ...ov, [pool]: o }
}

/** `ov` with `change` merged into backend `id`'s overrides. */
export function withSet (ov: Overrides, pool: string, id: string, change: BackendOverride): Overrides {
  const o = copy(ov, pool)
  o.set = { ...o.set, [id]: { ...o.set[id], ...change } }
  return { ...ov, [pool]: o }
}

/** How many admin API changes `ov` holds (for messages). */
export function countOverrides (ov: Overrides): number {
  let n = 0
  for (const o of Object.values(ov)) n += o.remove.length + o.add.length + Object.keys(o.set).length
  return n
}

function copy (ov: Overrides, pool: string): PoolOverrides {
  const o = ov[pool] ?? empty()
  return { remove: [...o.remove], add: [...o.add], set: { ...o.set } }
}

function describe (o: PoolOverrides): string {
  const parts = [
    ...o.add.map((a) => `added ${a.id}`),
    ...o.remove.map((id) => `removed ${id}`),
    ...Object.entries(o.set).map(([id, s]) => `${id}: ${setText(s)}`)
  ]
  return parts.join('; ')
}

function setText (s: BackendOverride): string {
  return Object.entries(s).map(([k, v]) => `${k} ${String(v)}`).join(', ')
}
