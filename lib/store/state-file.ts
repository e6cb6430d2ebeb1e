import { createHash } from 'node:crypto'
import { open, readFile, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { StateStore, StoredState } from './types.js'

/**
 * The embedded store: the state in one JSON file beside the config (store.file.path), with the
 * copy before the last write kept as `<path>.prev`.
 *
 * Contract: save() leaves, at every instant, either the new state in `path` or the previous one
 * in `path` or `path.prev`: it writes a temp file and fsyncs it, moves the current file to .prev,
 * renames the temp file into place and fsyncs the folder (rename is atomic on POSIX file
 * systems). A crash between the two renames leaves only .prev, which load() then uses. The file
 * carries a SHA-256 of its state, so a file cut short or changed by hand is detected: load()
 * reports it and falls back to .prev (and the caller to the config file when neither is good).
 */
export class FileStateStore implements StateStore {
  readonly where: string
  private ok = true

  constructor (private readonly path: string) {
    this.where = `file ${path}`
  }

  get connected (): boolean { return this.ok }

  async load (): Promise<{ state: StoredState | undefined, from: string, problems: string[] }> {
    const problems: string[] = []
    for (const file of [this.path, `${this.path}.prev`]) {
      const read = await readState(file)
      if (read.state !== undefined) return { state: read.state, from: file, problems }
      if (read.problem !== undefined) problems.push(read.problem)
    }
    return { state: undefined, from: this.path, problems }
  }

  async save (state: StoredState): Promise<void> {
    const text = JSON.stringify(state)
    const body = `{"format":1,"sha256":"${sha256(text)}","state":${text}}\n`
    const tmp = `${this.path}.tmp-${process.pid}`
    try {
      const fh = await open(tmp, 'w', 0o600)
      try {
        await fh.writeFile(body)
        await fh.sync()
      } finally {
        await fh.close()
      }
      await rename(this.path, `${this.path}.prev`).catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
      await rename(tmp, this.path)
      await syncDir(dirname(this.path))
      this.ok = true
    } catch (err) {
      this.ok = false
      await unlink(tmp).catch(() => {})
      throw err
    }
  }
}

export function sha256 (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** A state file's state, or why it cannot be used (undefined for both: there is no such file). */
async function readState (file: string): Promise<{ state?: StoredState, problem?: string }> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    return { problem: `${file}: cannot be read (${(err as Error).message})` }
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return { problem: `${file}: not valid JSON (${text.length} bytes; cut short by a crash or a full disk?)` }
  }
  if (typeof doc !== 'object' || doc === null || (doc as { format?: unknown }).format !== 1) return { problem: `${file}: not a gateway state file (format 1)` }
  const { sha256: sum, state } = doc as { sha256?: unknown, state?: unknown }
  if (typeof sum !== 'string' || sha256(JSON.stringify(state)) !== sum) return { problem: `${file}: its checksum does not match its contents (changed by hand or damaged)` }
  const s = state as Partial<StoredState>
  if (typeof s.revision !== 'number' || s.base === undefined || typeof s.overrides !== 'object' || !Array.isArray(s.history)) return { problem: `${file}: its state lacks revision, base, overrides or history` }
  return { state: s as StoredState }
}

/** fsync of a folder makes a rename in it durable (ext4, xfs); some file systems refuse it, which is fine. */
async function syncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined)
  if (fh === undefined) return
  try {
    await fh.sync().catch(() => {})
  } finally {
    await fh.close()
  }
}
