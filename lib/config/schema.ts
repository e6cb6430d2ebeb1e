/**
 * The root TypeBox schema of the accepted YAML: one key per section, each section's schema from
 * its file in sections/. The schema checks structure and types only (unknown keys, wrong types,
 * ranges); meaning (URLs, durations, pool references) is checked by the sections' normalisers
 * (normalise.ts composes them), which also apply the defaults. Every object is closed
 * (`additionalProperties: false`) except an algorithm's options, which belong to the algorithm.
 */

import { Type, type TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { closed } from './schema-parts.js'
import { ListenSchema } from './sections/listen.js'
import { AdminSchema } from './sections/admin.js'
import { PoolsSchema } from './sections/pools.js'
import { RoutesSchema } from './sections/routes.js'
import { LogSchema } from './sections/log.js'
import { MetricsSchema } from './sections/metrics.js'
import { PluginsSchema } from './sections/plugins.js'
import { ShutdownSchema } from './sections/shutdown.js'
import { WebSocketSchema } from './sections/websocket.js'
import { TcpSchema } from './sections/tcp.js'
import { WorkersSchema } from './sections/workers.js'
import { StoreSchema } from './sections/store.js'

export const ConfigSchema = Type.Object({
  listen: Type.Optional(ListenSchema),
  admin: Type.Optional(AdminSchema),
  pools: PoolsSchema,
  routes: Type.Optional(RoutesSchema),
  log: Type.Optional(LogSchema),
  metrics: Type.Optional(MetricsSchema),
  plugins: Type.Optional(PluginsSchema),
  shutdown: Type.Optional(ShutdownSchema),
  websocket: Type.Optional(WebSocketSchema),
  tcp: Type.Optional(TcpSchema),
  workers: Type.Optional(WorkersSchema),
  store: Type.Optional(StoreSchema)
}, { ...closed, description: 'a mapping with at least a pools section' })

export const configChecker = TypeCompiler.Compile(ConfigSchema)

/** The schema that governs the value at `segs`, or undefined (e.g. inside algorithm options). */
export function schemaAt (segs: ReadonlyArray<string | number>): TSchema | undefined {
  let s: TSchema | undefined = ConfigSchema
  for (const seg of segs) {
    if (s === undefined) return undefined
    s = childSchema(s, seg)
  }
  return s
}

function childSchema (s: TSchema, seg: string | number): TSchema | undefined {
  if (Array.isArray(s.anyOf)) {
    for (const member of s.anyOf as TSchema[]) {
      const found = childSchema(member, seg)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (s.type === 'array') return typeof seg === 'number' ? s.items as TSchema : undefined
  if (s.type !== 'object' || typeof seg !== 'string') return undefined
  if (s.properties !== undefined && Object.hasOwn(s.properties, seg)) return s.properties[seg] as TSchema
  if (s.patternProperties !== undefined) return Object.values(s.patternProperties)[0] as TSchema
  return undefined
}
