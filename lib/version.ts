import { readFileSync } from 'node:fs'

/** The gateway's version from package.json (dist/lib/version.js sits two folders below it), read once. */
export const GATEWAY_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown'
  } catch {
    return 'unknown'
  }
})()
