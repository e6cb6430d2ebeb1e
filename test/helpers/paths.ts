/**
 * Paths of files the tests read from the checkout (docs, fixtures, dist/), independent of where
 * the running test file is. tap runs the tests compiled into .test-build/ (docs/tooling.md), so
 * `new URL('../docs/x.md', import.meta.url)` from a test would point into .test-build/, where
 * only compiled code is; these resolve from the repository root instead, and give the same
 * paths when a test runs from its .ts source.
 */
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root: the nearest directory above this file with a package.json. */
function findRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir)
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`)
    dir = up
  }
  return dir
}

export const REPO_ROOT = findRoot()

/** `rel` (slash-separated, from the repository root) as an absolute path. */
export function repoPath (rel: string): string {
  return join(REPO_ROOT, ...rel.split('/'))
}
