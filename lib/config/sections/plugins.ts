/**
 * `plugins`: middleware, as modules whose default export is a Fastify plugin. The loader only
 * resolves the paths (against the config file's folder); lib/config/modules.ts imports them.
 */
import { resolve } from 'node:path'
import { Type } from '@sinclair/typebox'
import { isObj, str, type Ctx, type Obj } from '../fields.js'
import { closed } from '../schema-parts.js'

export const PluginsSchema = Type.Array(Type.Object({
  module: Type.String({ minLength: 1 }),
  options: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
}, closed))

export interface PluginConfig {
  /** Absolute path of a module whose default export is a Fastify plugin. */
  module: string
  /** Passed to the plugin when it is registered; {} when left out. */
  options: Record<string, unknown>
}

export function normalisePlugins (ctx: Ctx, raw: unknown): PluginConfig[] {
  if (!Array.isArray(raw)) return []
  // module is required: the '' fallback only fills a config that fails anyway.
  return (raw as Obj[]).filter(isObj).map((p) => ({
    module: resolve(ctx.baseDir, str(p, 'module', '')),
    options: isObj(p.options) ? p.options : {}
  }))
}
