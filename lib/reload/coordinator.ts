import type { FastifyBaseLogger } from 'fastify'
import type { GatewayConfig } from '../config/types.js'
import type { LoadedModules } from '../config/modules.js'
import type { PreparedChange, ReloadContext, ReloadParticipant, ReloadProducts } from './participant.js'

export interface CoordinatorDeps {
  logger: FastifyBaseLogger
  /** Loads the modules a config names (lib/config/modules.ts loadModules); throws ConfigError. */
  loadModules: (config: GatewayConfig) => Promise<LoadedModules>
}

/** A reload every participant has prepared: settle it with exactly one of commit() or abort(). */
export interface PreparedReload {
  /** Sections of the config that differ but only take effect after a restart, in participant order. */
  readonly needsRestart: readonly string[]
  /**
   * Commits every participant in one synchronous step (before the returned promise is first
   * awaited), then runs their afterCommit work; resolves when that is done. Throws only if a
   * commit broke its contract and threw (the others are committed all the same).
   */
  commit: () => Promise<void>
  /** Aborts every participant, last prepared first. */
  abort: () => Promise<void>
}

/**
 * Runs reloads as prepare, then commit or abort (docs/reload.md). Participants take part in
 * the order they registered, which follows the plugins' dependencies: a participant's
 * context products come from participants registered before it.
 *
 * One reload at a time: prepare() waits for the previous reload to be settled, and a prepared
 * reload holds its turn until commit() or abort(). prepare() and the two-step result are what
 * a supervisor of several processes needs (prepare everywhere, commit only if all accepted);
 * apply() is both steps in one process.
 */
export class ReloadCoordinator {
  private readonly participants: ReloadParticipant[] = []
  private tail: Promise<void> = Promise.resolve()

  constructor (private readonly deps: CoordinatorDeps) {}

  register (participant: ReloadParticipant): void {
    if (this.participants.some((p) => p.name === participant.name)) throw new Error(`reload participant "${participant.name}" is already registered`)
    this.participants.push(participant)
  }

  /** The registered participants' names, in the order they prepare and commit. */
  get order (): string[] {
    return this.participants.map((p) => p.name)
  }

  async apply (next: GatewayConfig): Promise<{ needsRestart: string[] }> {
    const prepared = await this.prepare(next)
    await prepared.commit()
    return { needsRestart: [...prepared.needsRestart] }
  }

  /**
   * Loads `next`'s modules and prepares every participant in order. If any of that throws, the
   * participants prepared so far are aborted, last first, and the error is rethrown: nothing
   * changed.
   */
  async prepare (next: GatewayConfig): Promise<PreparedReload> {
    let release!: () => void
    const turn = new Promise<void>((resolve) => { release = resolve })
    const before = this.tail
    this.tail = before.then(async () => await turn)
    await before

    const prepared: Array<{ name: string, change: PreparedChange }> = []
    const needsRestart: string[] = []
    try {
      const ctx = context(await this.deps.loadModules(next), needsRestart)
      for (const p of this.participants) {
        const change = await p.prepare(next, ctx)
        if (change !== undefined) prepared.push({ name: p.name, change })
      }
    } catch (err) {
      await this.abortAll(prepared)
      release()
      throw err
    }

    let settled = false
    const settle = (): void => {
      if (settled) throw new Error('this reload was already committed or aborted')
      settled = true
    }
    return {
      needsRestart,
      commit: async () => {
        settle()
        try {
          await this.commitAll(prepared)
        } finally {
          release()
        }
      },
      abort: async () => {
        settle()
        await this.abortAll(prepared)
        release()
      }
    }
  }

  private async commitAll (prepared: Array<{ name: string, change: PreparedChange }>): Promise<void> {
    // The switch: every commit in one synchronous step, no await until the loop is done, so no
    // request or event sees some participants switched and others not.
    const broken: string[] = []
    for (const { name, change } of prepared) {
      try {
        change.commit()
      } catch (err) {
        broken.push(name)
        this.deps.logger.error({ err, participant: name }, 'reload: a commit threw (a bug: commits must not fail); the other participants are committed')
      }
    }
    for (const { name, change } of prepared) {
      try {
        await change.afterCommit?.()
      } catch (err) {
        this.deps.logger.error({ err, participant: name }, 'reload: cleaning up after the commit failed')
      }
    }
    if (broken.length > 0) throw new Error(`reload committed, but the commit of ${broken.join(', ')} threw; see the error log`)
  }

  private async abortAll (prepared: Array<{ name: string, change: PreparedChange }>): Promise<void> {
    for (const { name, change } of [...prepared].reverse()) {
      try {
        await change.abort()
      } catch (err) {
        this.deps.logger.error({ err, participant: name }, 'reload: aborting a prepared change failed')
      }
    }
  }
}

function context (modules: LoadedModules, needsRestart: string[]): ReloadContext {
  const products = new Map<string, unknown>()
  return {
    modules,
    needsRestart: (section) => { if (!needsRestart.includes(section)) needsRestart.push(section) },
    provide: (key, value) => {
      if (products.has(key)) throw new Error(`reload: "${key}" was already provided`)
      products.set(key, value)
    },
    get: <K extends keyof ReloadProducts>(key: K): ReloadProducts[K] => {
      if (!products.has(key)) throw new Error(`reload: nothing provided "${key}" before it was needed (participant order)`)
      return products.get(key) as ReloadProducts[K]
    }
  }
}
