// The embedded config store (lib/store/state-file.ts): the state in one JSON file with a
// SHA-256 of its contents, written through a temp file, with the copy before the last write
// kept as `<path>.prev`. load() reports a copy it cannot use (cut short, edited) and falls back
// to the next one; save() failing makes `connected` false until a save works again.
import t from 'tap'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FileStateStore, sha256 } from '../lib/store/state-file.js'
import type { StoredState } from '../lib/store/types.js'

const state = (revision: number, extra: Partial<StoredState> = {}): StoredState => ({
  format: 1,
  revision,
  base: { pools: { web: { backends: [{ url: 'http://10.0.0.1:8080' }] } } },
  baseSource: 'file',
  fileSha256: 'x',
  overrides: {},
  history: [],
  ...extra
})

// A state with something in every field, so a round trip that lost anything would show.
const FULL = state(7, {
  overrides: { web: { remove: ['a'], add: [{ id: 'n', url: 'http://10.0.0.9:80', weight: 3 }], set: { b: { drain: true } } } },
  history: [{ revision: 7, time: '2024-05-01T10:00:00.000Z', change: 'added backend web/n', instance: 'host-1', via: 'admin', token: null }]
})

t.test('load() with no file: no state and no problems', async (t) => {
  const dir = t.testdir({})
  const store = new FileStateStore(join(dir, 'state.json'))
  t.same(await store.load(), { state: undefined, from: join(dir, 'state.json'), problems: [] }, 'no state, from the main file, no problems')
  t.equal(store.connected, true, 'connected before anything was written')
  t.equal(store.where, `file ${join(dir, 'state.json')}`, 'where names the file')
})

t.test('save then load round-trips the state', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const store = new FileStateStore(path)
  await store.save(FULL)
  t.equal(store.connected, true, 'connected after the save')
  const loaded = await store.load()
  t.same(loaded, { state: FULL, from: path, problems: [] }, 'the same state, from the main file')
  t.not(loaded.state, FULL, 'read back from the file, not kept in memory')

  // What is on disk: the state with a checksum of its JSON text.
  const doc = JSON.parse(await readFile(path, 'utf8')) as { format: number, sha256: string, state: unknown }
  t.equal(doc.format, 1, 'the file format')
  t.equal(doc.sha256, sha256(JSON.stringify(FULL)), 'the checksum is of the state\'s JSON')
  t.same(doc.state, FULL, 'the state is stored as it is')

  // Another store on the same file (a restart) reads it too.
  t.same((await new FileStateStore(path).load()).state, FULL, 'a new store object reads it')
})

t.test('the state file is mode 0600 and no temp file is left behind', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const store = new FileStateStore(path)
  await store.save(state(1))
  t.equal((await stat(path)).mode & 0o777, 0o600, 'only the owner may read it (it holds the config)')
  await store.save(state(2))
  t.equal((await stat(path)).mode & 0o777, 0o600, 'the new file too')
  t.equal((await stat(`${path}.prev`)).mode & 0o777, 0o600, 'and the .prev copy')
  t.notOk(existsSync(`${path}.tmp-${process.pid}`), 'the temp file was renamed into place')
})

t.test('a second save moves the first to <path>.prev', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const store = new FileStateStore(path)
  await store.save(state(1))
  t.notOk(existsSync(`${path}.prev`), 'no .prev after the first save')
  const first = await readFile(path, 'utf8')
  await store.save(state(2))
  t.equal(await readFile(`${path}.prev`, 'utf8'), first, '.prev holds the first file, byte for byte')
  t.same((await store.load()).state, state(2), 'the main file has the second')
  await store.save(state(3))
  t.equal((JSON.parse(await readFile(`${path}.prev`, 'utf8')) as { state: StoredState }).state.revision, 2,
    'a third save moves the second to .prev (only one copy is kept)')
})

t.test('a main file cut short: the problem is reported and the .prev state is used', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const store = new FileStateStore(path)
  await store.save(state(1))
  await store.save(state(2))
  const text = await readFile(path, 'utf8')
  const cut = text.slice(0, Math.floor(text.length / 2))
  await writeFile(path, cut)
  const loaded = await store.load()
  t.same(loaded.state, state(1), 'the state before the last save, from .prev')
  t.equal(loaded.from, `${path}.prev`, 'from says which file it came from')
  t.equal(loaded.problems.length, 1, 'one problem')
  t.match(loaded.problems[0], path, 'the problem names the main file')
  t.match(loaded.problems[0], 'not valid JSON', 'the problem says why')
  t.equal(loaded.problems[0], `${path}: not valid JSON (${cut.length} bytes; cut short by a crash or a full disk?)`, 'the whole line, with the length read')
})

t.test('a main file whose state was edited (valid JSON, checksum wrong): a checksum problem', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const store = new FileStateStore(path)
  await store.save(state(1))
  await store.save(state(2))
  const doc = JSON.parse(await readFile(path, 'utf8')) as { format: 1, sha256: string, state: StoredState }
  doc.state.revision = 99
  await writeFile(path, JSON.stringify(doc))
  const loaded = await store.load()
  t.same(loaded.problems, [`${path}: its checksum does not match its contents (changed by hand or damaged)`], 'one checksum problem, naming the file')
  t.same(loaded.state, state(1), 'the edited revision 99 is not used; .prev is')
  t.equal(loaded.from, `${path}.prev`, 'from .prev')
})

t.test('a file without the checksum or of another format is not used either', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const store = new FileStateStore(path)
  await writeFile(path, JSON.stringify({ format: 1, state: state(1) }))
  t.same(await store.load(), { state: undefined, from: path, problems: [`${path}: its checksum does not match its contents (changed by hand or damaged)`] },
    'no sha256: a checksum problem')
  await writeFile(path, JSON.stringify({ format: 2, sha256: sha256(JSON.stringify(state(1))), state: state(1) }))
  t.same((await store.load()).problems, [`${path}: not a gateway state file (format 1)`], 'format 2: not a state file')
})

t.test('a state with the right checksum but without its fields is a problem', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const partial = { revision: 1, base: {}, overrides: {} }
  await writeFile(path, JSON.stringify({ format: 1, sha256: sha256(JSON.stringify(partial)), state: partial }))
  t.same((await new FileStateStore(path).load()).problems, [`${path}: its state lacks revision, base, overrides or history`], 'the missing history is reported')
})

t.test('both copies damaged: no state and two problems', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const store = new FileStateStore(path)
  await store.save(state(1))
  await store.save(state(2))
  const main = await readFile(path, 'utf8')
  await writeFile(path, main.slice(0, 20))
  const prev = JSON.parse(await readFile(`${path}.prev`, 'utf8')) as { format: 1, sha256: string, state: StoredState }
  prev.state.fileSha256 = 'edited'
  await writeFile(`${path}.prev`, JSON.stringify(prev))
  const loaded = await store.load()
  t.equal(loaded.state, undefined, 'nothing usable')
  t.equal(loaded.from, path, 'from names the main file')
  t.same(loaded.problems, [
    `${path}: not valid JSON (20 bytes; cut short by a crash or a full disk?)`,
    `${path}.prev: its checksum does not match its contents (changed by hand or damaged)`
  ], 'the main file first, then .prev')
})

t.test('only .prev there (a crash between the two renames): its state is used without a problem', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  const store = new FileStateStore(path)
  await store.save(state(4))
  await rename(path, `${path}.prev`)
  t.same(await store.load(), { state: state(4), from: `${path}.prev`, problems: [] }, 'the .prev state, said to come from .prev')
})

t.test('a temp file left over from a crash does not matter', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'state.json')
  // Another process's temp file (the pid in the name is not ours), cut short.
  const pid = process.pid === 12345 ? 12346 : 12345
  const tmp = `${path}.tmp-${pid}`
  const store = new FileStateStore(path)
  await store.save(state(1))
  await writeFile(tmp, '{"format":1,"sha256":"')
  t.same(await store.load(), { state: state(1), from: path, problems: [] }, 'load ignores it')
  await store.save(state(2))
  t.same(await store.load(), { state: state(2), from: path, problems: [] }, 'save works beside it')
  t.equal(await readFile(tmp, 'utf8'), '{"format":1,"sha256":"', 'it is left as it was')

  // Only a temp file (the crash came before the first save finished): no state, no problem.
  const other = join(dir, 'other')
  await mkdir(other)
  await writeFile(join(other, `state.json.tmp-${pid}`), '{"format":1')
  t.same(await new FileStateStore(join(other, 'state.json')).load(), { state: undefined, from: join(other, 'state.json'), problems: [] }, 'a lone temp file is no state and no problem')
})

t.test('a save that fails rejects and sets connected false; a later good save sets it true', async (t) => {
  const dir = t.testdir({})
  const folder = join(dir, 'missing')
  const path = join(folder, 'state.json')
  const store = new FileStateStore(path)
  t.equal(store.connected, true, 'connected at first')
  await t.rejects(store.save(state(1)), { code: 'ENOENT' }, 'the folder does not exist')
  t.equal(store.connected, false, 'not connected after the failed save')
  t.notOk(existsSync(folder), 'nothing was created')
  await mkdir(folder)
  await store.save(state(2))
  t.equal(store.connected, true, 'connected again after a save that worked')
  t.same((await store.load()).state, state(2), 'and the state was written')
})
