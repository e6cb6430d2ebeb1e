import t from 'tap'
import { codes } from '../lib/errors.js'
t.equal(codes.GW_NO_BACKEND.status, 503)
