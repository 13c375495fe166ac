/**
 * Browser end-to-end test of the web app against the whole stack (`npm run test:e2e`,
 * not part of `tap`): Debian's Chromium driven by playwright-core, the stack started as
 * `npm start` does, access tokens living 5 s. Screenshots go to test-output/e2e/.
 */
import t from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { REPO_ROOT, startStack, type Stack } from './stack.js'

const TTL = 5
const SHOTS = join(REPO_ROOT, 'test-output', 'e2e')
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const JWT_LIKE = /[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/

import { sleep } from '../../../../scripts/testing/wait.js'
/** Long enough for any access token obtained before this call to be expired. */
const outliveToken = () => sleep(TTL * 1000 + 1500)

// The whole file is bounded: 7 minutes, each step 60 s (tap's default is 30 s for everything).
t.setTimeout(420_000)
const STEP = { timeout: 60_000 }
/** What a page of another origin tries against the gateway (the cross-origin step). */
type CrossOriginProbe = 'readOrders' | 'readSessions' | 'corsPost' | 'simplePost' | 'logoutAll'

mkdirSync(SHOTS, { recursive: true })
execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' })

let stack: Stack
let browser: Browser
const cspViolations: string[] = []
const refreshes = new Map<BrowserContext, number>()

function track (context: BrowserContext): BrowserContext {
  refreshes.set(context, 0)
  context.on('request', (req) => {
    if (req.method() === 'POST' && new URL(req.url()).pathname === '/auth/refresh') {
      refreshes.set(context, (refreshes.get(context) ?? 0) + 1)
    }
  })
  context.on('console', (msg) => {
    if (/Content Security Policy/i.test(msg.text())) cspViolations.push(msg.text())
  })
  return context
}

async function newContext (): Promise<BrowserContext> {
  const context = track(await browser.newContext({ baseURL: stack.gatewayUrl }))
  context.setDefaultTimeout(15_000)
  return context
}

async function shot (page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
}

/**
 * What a script on the page could read that looks like a token: only csrf_token may be in document.cookie, storages
 * empty.
 */
async function scriptVisibleTokens (page: Page): Promise<string[]> {
  const seen = await page.evaluate(() => ({
    cookie: document.cookie,
    local: Object.keys(localStorage).map((k) => `${k}=${localStorage.getItem(k)}`),
    session: Object.keys(sessionStorage).map((k) => `${k}=${sessionStorage.getItem(k)}`),
  }))
  const problems: string[] = []
  const names = seen.cookie.split(';').map((c) => c.trim().split('=')[0]).filter((n) => n)
  for (const name of names) if (name !== 'csrf_token') problems.push(`readable cookie ${name}`)
  if (JWT_LIKE.test(seen.cookie)) problems.push('a JWT in document.cookie')
  for (const entry of seen.local) problems.push(`localStorage ${entry.slice(0, 40)}`)
  for (const entry of seen.session) problems.push(`sessionStorage ${entry.slice(0, 40)}`)
  return problems
}

t.before(async () => {
  stack = await startStack({ accessTokenTtl: TTL })
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
})
t.teardown(async () => {
  await browser?.close()
  await stack?.stop()
})

t.test('the SPA through the gateway', { timeout: 280_000 }, async (t) => {
  const email = `e2e-${randomBytes(4).toString('hex')}@example.test`
  const password = 'correct horse battery staple'
  const ctxA = await newContext()
  const tab1 = await ctxA.newPage()
  let tab2: Page
  let ctxB: BrowserContext
  let deviceB: Page

  await t.test('a first visit lands on the login page; register logs in', STEP, async (t) => {
    const res = await tab1.goto('/')
    t.match(res?.headers()['content-security-policy'], /script-src 'self';\s*style-src 'self'/, 'the page is served with the strict CSP')
    await tab1.getByTestId('login-page').waitFor()
    t.equal(new URL(tab1.url()).pathname, '/login')
    await shot(tab1, '01-login')
    await tab1.getByTestId('to-register').click()
    await tab1.getByTestId('register-page').waitFor()
    await tab1.getByLabel('Name (optional)').fill('E2E User')
    await tab1.getByLabel('Email').fill(email)
    await tab1.getByLabel('Password (10 to 128 characters)').fill(password)
    await shot(tab1, '02-register')
    await tab1.getByTestId('register-submit').click()
    await tab1.getByTestId('orders-page').waitFor()
    await tab1.getByTestId('orders-empty').waitFor()
    t.equal(new URL(tab1.url()).pathname, '/orders')
    t.match(await tab1.getByTestId('current-user').textContent(), email)
    const left = Number(await tab1.getByTestId('token-countdown').getAttribute('data-seconds-left'))
    t.ok(left > 0 && left <= TTL, `the countdown shows the token's remaining life (${left} s)`)
    t.same(await scriptVisibleTokens(tab1), [], 'no token readable by scripts: after register')
  })

  await t.test('create an order; deleting it as a non-admin shows insufficient_scope', STEP, async (t) => {
    await tab1.getByLabel('Item').fill('Blue widget')
    await tab1.getByLabel('Quantity').fill('3')
    await tab1.getByTestId('order-submit').click()
    await tab1.getByTestId('order-row').first().waitFor()
    t.equal(await tab1.getByTestId('order-row').count(), 1)
    t.match(await tab1.getByTestId('orders-list').textContent(), /Blue widget\s*3/)
    await tab1.locator('[data-testid=orders-live][data-state=open]').waitFor()
    t.match(await tab1.getByTestId('orders-live').textContent(), /Live updates: on/, 'the live feed is open')
    await shot(tab1, '03-orders')
    await tab1.getByTestId('order-delete').click()
    const error = tab1.getByTestId('orders-error')
    await error.waitFor()
    t.match(await error.textContent(), /insufficient_scope/, 'the 403 message is shown')
    t.equal(await tab1.getByTestId('order-row').count(), 1, 'the order is still there')
    await shot(tab1, '04-orders-delete-forbidden')
  })

  await t.test('the session is DPoP-bound: its token replayed from Node without the key is refused', STEP,
    async (t) => {
      const calls: Array<{ authorization?: string, dpop?: string }> = []
      const listen = (req: { url: () => string, headers: () => Record<string, string> }) => {
        if (new URL(req.url()).pathname === '/api/orders') calls.push(req.headers())
      }
      tab1.on('request', listen)
      await tab1.getByTestId('nav-sessions').click()
      await tab1.getByTestId('sessions-list').waitFor()
      await tab1.getByTestId('nav-orders').click()
      await tab1.getByTestId('order-row').first().waitFor()
      tab1.off('request', listen)
      const call = calls.find((c) => c.authorization?.startsWith('DPoP '))
      const schemes = calls.map((c) => c.authorization?.split(' ')[0])
      t.ok(call, `the page calls the API as Authorization: DPoP (saw ${schemes})`)
      t.match(call?.dpop, JWT_LIKE, 'with a DPoP proof')
      const token = call!.authorization!.slice(5)
      t.same(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).cnf?.jkt?.length, 43,
        'the access token carries cnf.jkt')
      const key = await tab1.evaluate(`(async () => {
      const db = await new Promise((ok, ko) => {
        const r = indexedDB.open('jwt-edge'); r.onsuccess = () => ok(r.result); r.onerror = ko
      })
      const pair = await new Promise((ok, ko) => {
        const r = db.transaction('keys').objectStore('keys').get('dpop')
        r.onsuccess = () => ok(r.result); r.onerror = ko
      })
      const exported = await crypto.subtle.exportKey('jwk', pair.privateKey).then(() => 'exported', (e) => e.name)
      return { extractable: pair.privateKey.extractable, alg: pair.privateKey.algorithm.namedCurve, exported }
    })()`) as { extractable: boolean, alg: string, exported: string }
      t.same(key, { extractable: false, alg: 'P-256', exported: 'InvalidAccessError' },
        'the private key in IndexedDB is a non-extractable P-256 key')

      const fromNode = async (headers: Record<string, string>) => {
        const res = await fetch(`${stack.gatewayUrl}/api/orders`, { headers })
        return { status: res.status, challenge: res.headers.get('www-authenticate') ?? '', body: await res.json() }
      }
      const asBearer = await fromNode({ authorization: `Bearer ${token}` })
      t.equal(asBearer.status, 401, 'as Bearer: 401')
      t.match(asBearer.challenge, /^DPoP error="invalid_token"/)
      const noProof = await fromNode({ authorization: `DPoP ${token}` })
      t.equal(noProof.status, 401, 'as DPoP without a proof: 401')
      t.match(noProof.challenge, /^DPoP error="invalid_dpop_proof"/)
      const replayed = await fromNode({ authorization: `DPoP ${token}`, dpop: call!.dpop! })
      t.equal(replayed.status, 401, 'with the page\'s own proof replayed: 401')
      t.equal(replayed.body.error, 'invalid_dpop_proof')
      const { createDpopKey, makeProof } = await import('../../../../scripts/testing/dpop.js')
      const thief = await createDpopKey()
      const own = await makeProof(thief, { htm: 'GET', htu: `${stack.gatewayUrl}/api/orders`, accessToken: token })
      const thiefs = await fromNode({ authorization: `DPoP ${token}`, dpop: own })
      t.equal(thiefs.status, 401, 'with a proof by another key: 401')
      t.equal(thiefs.body.error, 'invalid_dpop_proof')
      t.equal(await tab1.getByTestId('login-page').count(), 0, 'the page itself is still signed in')
    })

  // Counting refreshes happens on the sessions page: the orders page's live feed renews its token at every expiry.
  await t.test('a reload keeps the session (restored through the refresh cookie)', STEP, async (t) => {
    await tab1.getByTestId('nav-sessions').click()
    await tab1.getByTestId('sessions-list').waitFor()
    refreshes.set(ctxA, 0)
    await tab1.reload()
    await tab1.getByTestId('session-current').waitFor()
    t.equal(new URL(tab1.url()).pathname, '/sessions', 'still on /sessions')
    t.equal(refreshes.get(ctxA), 1, 'one refresh restored the session')
    await tab1.getByTestId('nav-orders').click()
    await tab1.getByTestId('order-row').first().waitFor()
    t.equal(await tab1.getByTestId('order-row').count(), 1)
    t.same(await scriptVisibleTokens(tab1), [], 'no token readable by scripts: after reload')
  })

  await t.test('after the access token expired, calls still work with exactly one refresh', STEP, async (t) => {
    await tab1.getByTestId('nav-sessions').click()
    await tab1.getByTestId('sessions-list').waitFor()
    await outliveToken()
    t.match(await tab1.getByTestId('token-countdown').textContent(), /expired/, 'the countdown says expired')
    refreshes.set(ctxA, 0)
    await tab1.getByTestId('nav-orders').click()
    await tab1.getByTestId('order-row').first().waitFor()
    await tab1.getByLabel('Item').fill('Red gadget')
    await tab1.getByLabel('Quantity').fill('1')
    await tab1.getByTestId('order-submit').click()
    await tab1.getByText('Red gadget').waitFor()
    t.equal(await tab1.getByTestId('order-row').count(), 2)
    t.equal(refreshes.get(ctxA), 1, 'one refresh for the expired token')
    t.equal(await tab1.getByTestId('login-page').count(), 0, 'not logged out')
  })

  await t.test('two tabs calling at once across an expiry: neither is logged out', STEP, async (t) => {
    tab2 = await ctxA.newPage()
    await tab2.goto('/sessions')
    await tab2.getByTestId('sessions-list').waitFor()
    await tab1.getByTestId('nav-sessions').click()
    await tab1.getByTestId('sessions-list').waitFor()
    await outliveToken()
    refreshes.set(ctxA, 0)
    await Promise.all([tab1.getByTestId('nav-orders').click(), tab2.getByTestId('nav-orders').click()])
    const rows = [tab1, tab2].map((tab) => tab.getByTestId('order-row').first().waitFor())
    await Promise.all(rows)
    for (const [name, tab] of [['tab 1', tab1], ['tab 2', tab2]] as const) {
      t.equal(new URL(tab.url()).pathname, '/orders', `${name} shows its orders`)
      t.equal(await tab.getByTestId('login-page').count(), 0, `${name} is not logged out`)
    }
    const seen = refreshes.get(ctxA) ?? 0
    t.ok(seen >= 1 && seen <= 2, `one refresh per tab at most (saw ${seen})`)
    t.same(await scriptVisibleTokens(tab2), [], 'no token readable by scripts: second tab')
  })

  await t.test('live: an order added in tab 2 appears in tab 1 without a reload', STEP, async (t) => {
    await tab1.locator('[data-testid=orders-live][data-state=open]').waitFor()
    await tab2.getByLabel('Item').fill('Live gizmo')
    await tab2.getByLabel('Quantity').fill('2')
    const added = Date.now()
    await tab2.getByTestId('order-submit').click()
    await tab1.getByText('Live gizmo').waitFor()
    t.comment(`tab 2 submit -> row in tab 1: ${Date.now() - added} ms`)
    t.equal(await tab1.getByTestId('order-row').count(), 3, 'tab 1 shows it, from the socket')
    await shot(tab1, '05-orders-live')
  })

  await t.test('a second device: the sessions page shows two sessions; end the other one', STEP, async (t) => {
    ctxB = await newContext()
    deviceB = await ctxB.newPage()
    await deviceB.goto('/login')
    await deviceB.getByLabel('Email').fill(email)
    await deviceB.getByLabel('Password').fill(password)
    await deviceB.getByTestId('login-submit').click()
    await deviceB.getByTestId('order-row').first().waitFor()
    t.equal(await deviceB.getByTestId('order-row').count(), 3, 'the other device sees the same orders')

    await tab1.getByTestId('nav-orders').click()
    await tab1.getByTestId('nav-sessions').click()
    await tab1.getByTestId('session-other').waitFor()
    t.equal(await tab1.getByTestId('session-current').count(), 1, 'this device is marked')
    t.equal(await tab1.getByTestId('session-other').count(), 1, 'one other session')
    t.match(await tab1.getByTestId('session-current').textContent(), /This device/)
    await shot(tab1, '06-sessions')
    await tab1.getByTestId('end-session').click()
    await tab1.getByTestId('session-other').waitFor({ state: 'detached' })
    t.equal(await tab1.getByTestId('session-current').count(), 1, 'only this device left')

    await deviceB.getByTestId('nav-sessions').click()
    await deviceB.getByTestId('login-page').waitFor()
    t.equal(await deviceB.getByTestId('session-ended').count(), 1, 'the ended device is back on the login page')
    t.same(await scriptVisibleTokens(deviceB), [], 'no token readable by scripts: ended device')
  })

  await t.test('another origin can neither read API responses ' +
    'nor make a cookie-authenticated POST succeed', STEP, async (t) => {
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' })
      res.end('<!doctype html><title>another origin</title><p>hello</p>')
    })
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => evil.close(() => resolve())))
    const address = evil.address()
    const evilOrigin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
    const page = await ctxA.newPage()
    await page.goto(evilOrigin + '/')
    // A plain string: tsx would wrap named functions in a helper that does not exist in the page.
    const outcome = await page.evaluate(`(async (gw) => {
      const attempt = (p) => p.then(
        async (r) => 'read ' + r.status + ': ' + (await r.text()).slice(0, 80),
        (e) => 'blocked: ' + e.name
      )
      const sent = (p) => p.then((r) => 'sent (' + r.type + ')', (e) => 'blocked: ' + e.name)
      return {
        readOrders: await attempt(fetch(gw + '/api/orders', { credentials: 'include' })),
        readSessions: await attempt(fetch(gw + '/auth/sessions', { credentials: 'include' })),
        corsPost: await attempt(fetch(gw + '/api/orders', {
          method: 'POST', credentials: 'include',
          headers: { 'content-type': 'application/json' }, body: '{"item":"evil","quantity":1}',
        })),
        simplePost: await sent(fetch(gw + '/api/orders', {
          method: 'POST', mode: 'no-cors', credentials: 'include',
          headers: { 'content-type': 'text/plain' }, body: '{"item":"evil","quantity":1}',
        })),
        logoutAll: await sent(
          fetch(gw + '/auth/logout-all', { method: 'POST', mode: 'no-cors', credentials: 'include' })
        ),
      }
    })(${JSON.stringify(stack.gatewayUrl)})`) as Record<CrossOriginProbe, string>
    t.comment(`from ${evilOrigin}: ${JSON.stringify(outcome)}`)
    t.match(outcome.readOrders, /^blocked/, `GET /api/orders unreadable (${outcome.readOrders})`)
    t.match(outcome.readSessions, /^blocked/, `GET /auth/sessions unreadable (${outcome.readSessions})`)
    t.match(outcome.corsPost, /^blocked/, `JSON POST blocked by CORS (${outcome.corsPost})`)
    await page.close()

    // The no-cors POSTs went out; they must not have had any effect.
    await tab1.getByTestId('nav-orders').click()
    await tab1.getByTestId('order-row').first().waitFor()
    t.equal(await tab1.getByTestId('order-row').count(), 3, 'no order was created from the other origin')
    t.notMatch(await tab1.getByTestId('orders-list').textContent(), /evil/)
    await tab1.getByTestId('nav-sessions').click()
    await tab1.getByTestId('session-current').waitFor()
    t.equal(await tab1.getByTestId('login-page').count(), 0, 'the cross-origin logout-all did not end the session')
  })

  await t.test('log out everywhere: the other tab\'s socket closes at once, its next call lands on the login page',
    STEP, async (t) => {
      await tab2.getByTestId('nav-orders').click()
      await tab2.locator('[data-testid=orders-live][data-state=open]').waitFor()
      const loggedOut = Date.now()
      await tab1.getByTestId('logout-all').click()
      await tab2.locator('[data-testid=orders-live][data-state=closed]').waitFor({ timeout: 2000 })
      const closedAt = Number(await tab2.getByTestId('orders-live').getAttribute('data-since'))
      t.comment(`logout-all clicked in tab 1 -> tab 2's page saw its socket closed: ${closedAt - loggedOut} ms`)
      await tab1.getByTestId('login-page').waitFor()
      t.equal(new URL(tab1.url()).pathname, '/login')
      await shot(tab1, '07-logged-out')
      t.match(await tab2.getByTestId('orders-live').textContent(), /off \(session revoked\)$/, 'tab 2 shows why')
      await shot(tab2, '08-other-tab-socket-closed')
      await tab2.getByTestId('nav-sessions').click()
      await tab2.getByTestId('login-page').waitFor()
      t.equal(await tab2.getByTestId('session-ended').count(), 1, 'tab 2 says the session ended')
      await shot(tab2, '09-other-tab-logged-out')
      await tab2.reload()
      await tab2.getByTestId('login-page').waitFor()
      t.equal(new URL(tab2.url()).pathname, '/login', 'a reload does not bring the session back')
      for (const [name, page] of [['tab 1', tab1], ['tab 2', tab2]] as const) {
        t.same(await scriptVisibleTokens(page), [], `no token readable by scripts: ${name} after logout-all`)
      }
    })

  await t.test('log in again and log out on this device: a reload stays logged out', STEP, async (t) => {
    await tab1.getByLabel('Email').fill(email)
    await tab1.getByLabel('Password').fill(password)
    await tab1.getByTestId('login-submit').click()
    await tab1.getByTestId('order-row').first().waitFor()
    t.equal(await tab1.getByTestId('order-row').count(), 3, 'orders survive a logout-all')
    await tab1.getByTestId('logout').click()
    await tab1.getByTestId('login-page').waitFor()
    t.equal(await tab1.getByTestId('session-ended').count(), 0, 'a chosen logout is not reported as an ended session')
    await tab1.reload()
    await tab1.getByTestId('login-page').waitFor()
    t.equal(new URL(tab1.url()).pathname, '/login', 'the refresh cookie is gone')
    const cookies = await ctxA.cookies()
    t.same(
      cookies.filter((c) => c.name === 'refresh_token' || c.name === 'access_token').map((c) => c.name),
      [],
      'auth cookies cleared'
    )
  })

  t.same(cspViolations, [], 'no Content-Security-Policy violations in any page')
})

t.test('the admin page: find a user, end their sessions, disable and enable the account', { timeout: 100_000 },
  async (t) => {
    const tag = randomBytes(4).toString('hex')
    const adminEmail = `e2e-admin-${tag}@example.test`
    const userEmail = `e2e-member-${tag}@example.test`
    const password = 'correct horse battery staple'
    // The way an operator makes an admin: npm run users, against the stack's Redis.
    await promisify(execFile)(process.execPath,
      ['--import', 'tsx', 'scripts/users.ts', 'create', '--admin', adminEmail, '--password', password],
      { cwd: REPO_ROOT, env: { ...process.env, ...stack.redisEnv }, timeout: 30_000 })
    const logIn = async (page: Page, address: string) => {
      await page.goto('/login')
      await page.getByLabel('Email').fill(address)
      await page.getByLabel('Password').fill(password)
      await page.getByTestId('login-submit').click()
    }
    const member = await (await newContext()).newPage()
    await member.goto('/register')
    await member.getByLabel('Email').fill(userEmail)
    await member.getByLabel('Password (10 to 128 characters)').fill(password)
    await member.getByTestId('register-submit').click()
    await member.getByTestId('orders-page').waitFor()
    t.equal(await member.getByTestId('nav-admin').count(), 0, 'no admin link without the role')
    await member.goto('/admin')
    await member.getByTestId('orders-page').waitFor()
    t.equal(new URL(member.url()).pathname, '/orders', '/admin sends a non-admin back to /orders')

    const admin = await (await newContext()).newPage()
    await logIn(admin, adminEmail)
    await admin.getByTestId('nav-admin').click()
    await admin.getByTestId('admin-page').waitFor()
    await admin.getByTestId('admin-email').fill(`ghost-${tag}@example.test`)
    await admin.getByTestId('admin-search').click()
    await admin.getByTestId('admin-no-user').waitFor()
    await admin.getByTestId('admin-email').fill(adminEmail)
    await admin.getByTestId('admin-search').click()
    await admin.getByTestId('admin-user').getByText(adminEmail).waitFor()
    t.match(await admin.getByTestId('admin-session').textContent(), /your session/, 'my own session is marked')
    await admin.getByTestId('admin-email').fill(userEmail.toUpperCase())
    await admin.getByTestId('admin-search').click()
    await admin.getByTestId('admin-user').getByText(userEmail).waitFor()
    await admin.getByTestId('admin-session').first().waitFor()
    t.equal(await admin.getByTestId('admin-user-status').textContent(), 'active')
    t.equal(await admin.getByTestId('admin-session').count(), 1, "the member's one session")
    await shot(admin, '10-admin-user')

    await admin.getByTestId('admin-end-all').click()
    await admin.getByTestId('admin-no-sessions').waitFor()
    await member.getByTestId('nav-sessions').click()
    await member.getByTestId('login-page').waitFor()
    t.equal(await member.getByTestId('session-ended').count(), 1, 'the member is logged out at the next call')

    await logIn(member, userEmail)
    await member.getByTestId('orders-page').waitFor()
    await admin.getByTestId('admin-search').click()
    await admin.getByTestId('admin-session').first().waitFor()
    await admin.getByTestId('admin-disable').click()
    await admin.getByTestId('admin-enable').waitFor()
    t.equal(await admin.getByTestId('admin-user-status').textContent(), 'disabled')
    await admin.getByTestId('admin-no-sessions').waitFor() // the list reloads after the account line
    t.equal(await admin.getByTestId('admin-session').count(), 0, 'disabling ended the new session')
    await shot(admin, '11-admin-disabled')
    await member.getByTestId('nav-sessions').click()
    await member.getByTestId('login-page').waitFor()
    await logIn(member, userEmail)
    const refused = member.getByTestId('login-error')
    await refused.waitFor()
    t.match(await refused.textContent(), /account_disabled/, 'a disabled account cannot log in')

    await admin.getByTestId('admin-enable').click()
    await admin.getByTestId('admin-disable').waitFor()
    t.equal(await admin.getByTestId('admin-user-status').textContent(), 'active')
    await logIn(member, userEmail)
    await member.getByTestId('orders-page').waitFor()
    t.equal(new URL(member.url()).pathname, '/orders', 'enabled again: login works')
    t.same(cspViolations, [], 'no Content-Security-Policy violations on the admin page')
  })
