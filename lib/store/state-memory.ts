import type { StateStore, StoredState } from './types.js'

/**
 * A store that keeps the state in memory only: for a gateway built without a config file
 * (tests, embedding buildApp). Revisions, If-Match and the history work; a restart forgets.
 */
export class MemoryStateStore implements StateStore {
  readonly where = 'memory (not kept across restarts)'
  readonly connected = true
  private state: StoredState | undefined

  async load (): Promise<{ state: StoredState | undefined, from: string, problems: string[] }> {
    return { state: this.state, from: this.where, problems: [] }
  }

  async save (state: StoredState): Promise<void> {
    this.state = state
  }
}
