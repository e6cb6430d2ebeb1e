import type { GatewayConfig } from '../config/types.js'
import type { LoadedModules } from '../config/modules.js'

/**
 * One subsystem's part in a reload (docs/reload.md). Each plugin that holds state a reload
 * changes registers one with the coordinator (plugins/reload.ts) and is the only code that
 * changes that state.
 */
export interface ReloadParticipant {
  /** For logs and errors ("pools", "proxy", …); unique per gateway. */
  readonly name: string
  /**
   * Gets ready to switch to `next`, changing nothing that traffic, the admin API or another
   * participant can observe: it may build objects, bind new ports (their connections wait for
   * the commit) and import code, but the running state stays as it is. Throws to refuse the
   * reload, after undoing its own partial work. Undefined: nothing to switch (it may still
   * report sections that need a restart).
   */
  prepare: (next: GatewayConfig, ctx: ReloadContext) => Promise<PreparedChange | undefined> | PreparedChange | undefined
}

/** A prepared switch: exactly one of commit() and abort() is called. */
export interface PreparedChange {
  /**
   * Switches to what prepare() built. Runs in one synchronous step with every other
   * participant's commit, so it must not fail: everything that can fail belongs in prepare().
   */
  commit: () => void
  /** Gives up what prepare() built (closes what it bound or opened); the running state is untouched. */
  abort: () => void | Promise<void>
  /**
   * After every commit: retires what the commit replaced (old pools drain, old listeners close).
   * A failure here is logged; the reload has happened.
   */
  afterCommit?: () => void | Promise<void>
}

/**
 * What a participant prepares for those after it (the new pools, the new health checkers), by
 * key. Each participant that provides one declares its key next to its plugin, by declaration
 * merging:
 *
 *   declare module '../lib/reload/participant.js' { interface ReloadProducts { pools: PreparedPools } }
 */

export interface ReloadProducts {}

/** Shared by the participants of one reload. */
export interface ReloadContext {
  /** The code modules `next` names, loaded once for this reload. */
  readonly modules: LoadedModules
  /** Reports a section that differs from what runs but only takes effect after a restart. */
  needsRestart: (section: string) => void
  /** Offers a product to later participants; a key is provided once. */
  provide: <K extends keyof ReloadProducts>(key: K, value: ReloadProducts[K]) => void
  /** A product of an earlier participant; throws if none provided it (a registration-order bug). */
  get: <K extends keyof ReloadProducts>(key: K) => ReloadProducts[K]
}
