import t from 'tap'
import { failureDelayMs } from '../../src/login-throttle.js'

t.test('failureDelayMs: 100 ms doubling per failure, capped at 2 s', async (t) => {
  t.same([0, 1, 2, 3, 4, 5, 6, 10].map(failureDelayMs), [0, 100, 200, 400, 800, 1600, 2000, 2000])
})
