import t from 'tap'
import { BATCH_CHARS, LineBatcher } from '../lib/logger.js'

/** A stand-in for sonic-boom that records what reaches it. */
function fakeDest (): { writes: string[], flushed: number, write: (s: string) => boolean, flush: (cb?: () => void) => void, flushSync: () => void } {
  const d = {
    writes: [] as string[],
    flushed: 0,
    write (s: string) { d.writes.push(s); return true },
    flush (cb?: () => void) { d.flushed++; cb?.() },
    flushSync () {}
  }
  return d
}

t.test('lines are held until a batch is full, then written as one chunk in order', async (t) => {
  const dest = fakeDest()
  const b = new LineBatcher(dest as never)
  const line = 'x'.repeat(1023) + '\n'
  const perBatch = Math.ceil(BATCH_CHARS / line.length)
  for (let i = 0; i < perBatch - 1; i++) b.write(line)
  t.equal(dest.writes.length, 0, 'nothing written below the batch size')
  b.write(line)
  t.equal(dest.writes.length, 1, 'one write once the batch is full')
  t.equal(dest.writes[0], line.repeat(perBatch))
})

t.test('flush() writes what is pending and flushes the destination', async (t) => {
  const dest = fakeDest()
  const b = new LineBatcher(dest as never)
  b.write('a\n')
  b.write('b\n')
  await new Promise<void>((resolve) => { b.flush(() => resolve()) })
  t.same(dest.writes, ['a\nb\n'])
  t.equal(dest.flushed, 1)
  b.flush()
  t.same(dest.writes, ['a\nb\n'], 'an empty flush writes nothing')
})
