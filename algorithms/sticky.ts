import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { Algorithm, AlgorithmDefinition, AlgorithmDeps, SelectableBackend } from './types.js'
import { hash32 } from './hash.js'
import { OptionError } from './option-error.js'

const Options = Type.Object({
  /** The affinity cookie's name. */
  cookie: Type.String({ minLength: 1, pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$', default: 'ub_affinity' }),
  /** The algorithm that places clients without a (usable) pin; one that needs no request key. */
  inner: Type.String({ minLength: 1, default: 'round-robin' }),
  /** Cookie lifetime in seconds; 0 makes it a session cookie. */
  maxAge: Type.Integer({ minimum: 0, maximum: 400 * 24 * 3600, default: 0 })
}, { additionalProperties: false })

type StickyOptions = Static<typeof Options>

/**
 * Sticky sessions: the gateway sets a cookie naming the backend that served a client, and later
 * requests carrying it go to that backend while it is usable (ready and not already tried). A
 * client without the cookie, or pinned to a backend that is not usable, is placed by the inner
 * algorithm and re-pinned. The cookie carries an opaque token (a hash of the backend id), never
 * the backend's address.
 *
 * `registry` gives the algorithms the inner one is chosen from.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function stickyWith (registry: () => Readonly<Record<string, AlgorithmDefinition<any>>>): AlgorithmDefinition<StickyOptions> {
  return {
    options: Options,
    key: (o) => ({ from: 'cookie', name: o.cookie }),
    create<B extends SelectableBackend> (o: StickyOptions, deps: AlgorithmDeps): Algorithm<B> {
      // The registry is passed in (not imported) because it lists this algorithm itself.
      const innerDef = registry()[o.inner]
      if (innerDef === undefined || o.inner === 'sticky') throw new OptionError('inner', `unknown algorithm "${o.inner}"`)
      if (innerDef.key !== undefined) throw new OptionError('inner', `"${o.inner}" needs a request key of its own and cannot place sticky clients`)
      const inner = innerDef.create<B>(Value.Default(innerDef.options, {}) as Record<string, unknown>, deps)
      const attrs = `; Path=/; HttpOnly; SameSite=Lax${o.maxAge > 0 ? `; Max-Age=${o.maxAge}` : ''}`
      let byToken = new Map<string, B>()
      let cookieOf = new Map<B, { token: string, header: string }>()
      return {
        update (backends) {
          inner.update(backends)
          byToken = new Map()
          cookieOf = new Map()
          for (const b of backends) {
            const token = (hash32(b.id) >>> 0).toString(36)
            byToken.set(token, b)
            cookieOf.set(b, { token, header: `${o.cookie}=${token}${attrs}` })
          }
        },
        pick (ctx, usable) {
          if (ctx.key !== undefined) {
            const pinned = byToken.get(ctx.key)
            if (pinned !== undefined && usable(pinned)) return pinned
          }
          return inner.pick(ctx, usable)
        },
        observe (b, outcome) {
          inner.observe?.(b, outcome)
        },
        affinity (ctx, b) {
          const c = cookieOf.get(b)
          return c === undefined || c.token === ctx.key ? undefined : c.header
        }
      }
    }
  }
}
