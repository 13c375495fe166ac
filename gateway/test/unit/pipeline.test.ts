import t from 'tap'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { invalidToken, CsrfError, type AnyDenial } from '../../src/errors.js'
import { STAGE_ORDER, createPipelineHook, orderStages, type Stage, type StageTable } from '../../src/pipeline/index.js'
import { kGatewaySession, type GatewaySession } from '../../src/pipeline/session.js'
import type { ActiveConfig } from '../../src/active-config.js'

/** No route of these requests is the proxy's: the configuration is never read. */
const noConfig = () => ({}) as ActiveConfig

const fakeRequest = () => ({
  routeOptions: { config: {}, url: '/x' }, ip: '192.0.2.1', protocol: 'http', raw: { headers: {} },
}) as unknown as FastifyRequest
const reply = {} as FastifyReply

/** A stage table whose stages write their names into `ran`; `override` replaces some. */
function recordingTable (ran: string[], override: Partial<Record<keyof StageTable, Stage>> = {}): StageTable {
  const table = Object.fromEntries(STAGE_ORDER.map((name) => [name, () => { ran.push(name) }]))
  return { ...table, ...override } as StageTable
}

t.test('the stages, numbered once', async (t) => {
  t.same(
    STAGE_ORDER,
    [
      'strip', 'request-limits', 'cors-preflight', 'per-ip-limits',
      'authenticate', 'authorize', 'csrf', 'per-user-limit',
    ]
  )
  const ran: string[] = []
  const stages = orderStages(recordingTable(ran))
  t.equal(stages.length, STAGE_ORDER.length)
  for (const stage of stages) stage(fakeRequest(), reply, {} as GatewaySession)
  t.same(ran, STAGE_ORDER, 'orderStages puts the table in that order')
})

t.test('the hook opens the session and runs every stage in order, synchronously when none waits', async (t) => {
  const ran: string[] = []
  const request = fakeRequest()
  const done = createPipelineHook(orderStages(recordingTable(ran)), noConfig, () => t.fail('no denial'))(request, reply)
  t.same(ran, STAGE_ORDER, 'all ran before the hook\'s promise was awaited')
  await done
  t.match(request[kGatewaySession], { clientIp: '192.0.2.1', protocol: 'http', routeLabel: '/x', identity: null })
})

t.test('a stage that answers ends the pipeline; a promise is awaited before the next stage', async (t) => {
  const ran: string[] = []
  let resolved = false
  const hook = createPipelineHook(orderStages(recordingTable(ran, {
    'per-ip-limits': () => new Promise<void>((resolve) => setTimeout(() => { resolved = true; resolve() }, 10)),
    authorize: () => { ran.push(`authorize after the limit: ${resolved}`); return true },
  })), noConfig, () => {})
  const done = hook(fakeRequest(), reply)
  t.same(ran, ['strip', 'request-limits', 'cors-preflight'], 'stopped at the waiting stage')
  await done
  t.same(
    ran, ['strip', 'request-limits', 'cors-preflight', 'authenticate', 'authorize after the limit: true'],
    'nothing after the answer'
  )
})

t.test('a denial is reported once and rethrown; other errors only rethrown', async (t) => {
  const denials: AnyDenial[] = []
  const denial = invalidToken('token_expired', 'token expired')
  const denied = createPipelineHook(orderStages(recordingTable([], {
    authenticate: () => { throw denial },
  })), noConfig, (_request, session, d) => { denials.push(d); t.ok(session, 'with the session') })
  await t.rejects(denied(fakeRequest(), reply), denial)
  t.same(denials, [denial])
  const csrf = new CsrfError('no')
  const refused = createPipelineHook(orderStages(recordingTable([], { csrf: () => { throw csrf } })), noConfig, () => {
    t.fail('a CSRF refusal is not a token denial')
  })
  await t.rejects(refused(fakeRequest(), reply), csrf)
  const late = createPipelineHook(orderStages(recordingTable([], {
    authenticate: async () => { throw invalidToken('bad_signature', 'signature verification failed') },
  })), noConfig, (_request, _session, d) => denials.push(d))
  t.match(await late(fakeRequest(), reply).catch((err: unknown) => err), { reason: 'bad_signature' })
  t.equal(denials.length, 2, 'a denial from a waiting stage too')
})
