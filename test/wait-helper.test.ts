// test/helpers/wait.ts: a bounded wait resolves once its condition holds, and otherwise fails at
// its deadline with what it waited for and what it last saw (so no test passes, or hangs, by
// waiting). Deadlines here are short only to keep the test quick; no timing is asserted.
import t from 'tap'
import { waitFor, within } from './helpers/wait.js'

t.test('waitFor resolves once the condition holds, sync or async', async (t) => {
  let n = 0
  await waitFor(() => ++n >= 3, { message: 'n reaches 3' })
  t.equal(n, 3, 'evaluated until it held, then not again')
  await waitFor(async () => await Promise.resolve(true), { message: 'an async condition holds' })
  t.pass('an async condition is awaited')
})

t.test('waitFor fails at its deadline with the message and what it last saw', async (t) => {
  let polls = 0
  await t.rejects(waitFor(() => { polls++; return false }, { message: 'the count is 0', timeoutMs: 50, seen: () => ({ count: 2 }) }),
    { message: 'timed out after 50 ms waiting until the count is 0; last saw: { count: 2 }' })
  t.ok(polls > 1, 'it polled more than once before giving up')
  await t.rejects(waitFor(() => false, { message: 'never', timeoutMs: 20 }), { message: 'timed out after 20 ms waiting until never' },
    'without seen() the message says what it waited for')
})

t.test('an error thrown by the condition fails the wait at once', async (t) => {
  await t.rejects(waitFor(() => { throw new Error('no backend b9') }, { message: 'b9 is idle' }), { message: 'no backend b9' })
})

t.test('within passes on the promise\'s outcome, or fails at its deadline', async (t) => {
  t.equal(await within(Promise.resolve(7), { message: 'seven' }), 7)
  await t.rejects(within(Promise.reject(new Error('refused')), { message: 'x' }), { message: 'refused' }, 'its rejection, unchanged')
  await t.rejects(within(new Promise(() => {}), { message: 'the socket closed', timeoutMs: 30, seen: () => 'open' }),
    { message: 'timed out after 30 ms waiting until the socket closed; last saw: \'open\'' })
})
