/**
 * server.ts with an invalid gateway file (GATEWAY_CONFIG): exit 1 before listening, every
 * problem on stderr with its place. The real entry, spawned.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

function runGateway (env: Record<string, string>): Promise<{ code: number | null, stderr: string, stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'gateway/src/server.ts'], {
      env: { PATH: process.env.PATH ?? '', CSRF_SECRET: 'c'.repeat(43), GATEWAY_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`still running:\n${stdout}${stderr}`))
    }, 20_000)
    child.on('error', reject)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr, stdout }) })
  })
}

t.test('an invalid file: exit 1, every problem listed with its place', async (t) => {
  const dir = t.testdir({})
  const path = join(dir, 'bad.yaml')
  writeFileSync(path, [
    'providers:',
    '  - { id: local, issuer: urn:i, audience: urn:a, jwksUrl: "http://127.0.0.1:1/jwks", revocation: true }',
    '  - { id: partner, issuer: "https://idp.example.com", audience: x, discovery: true }',
    'routes:',
    '  - { id: a, prefix: /a, upstream: orders, auth: none, roles: { GET: [r] } }',
    '  - { id: b, prefix: /b, upstream: "http://127.0.0.1:2", methods: [GET], roles: { DELETE: [admin] } }',
    '',
  ].join('\n'))
  const run = await runGateway({ GATEWAY_CONFIG: path })
  t.equal(run.code, 1, 'exit 1')
  t.equal(run.stdout, '', 'nothing listened, nothing logged as ready')
  t.match(run.stderr, `gateway: Invalid gateway file (${path}) configuration:`)
  for (const problem of [
    'routes[0].roles.GET: roles need auth "required" or "optional"',
    'routes[0].upstream: "orders" is not a URL',
    'routes[1].roles.DELETE: DELETE is not in methods',
  ]) t.ok(run.stderr.includes(`  - ${problem}`), problem)
  t.equal(run.stderr.match(/^ {2}- /gm)?.length, 3, 'three problems, all at once (the partner provider is valid)')
})

t.test('a file that cannot be read: exit 1, the reason', async (t) => {
  const run = await runGateway({ GATEWAY_CONFIG: join(t.testdir({}), 'missing.yaml') })
  t.equal(run.code, 1)
  t.match(run.stderr, /missing\.yaml: cannot be read \(no such file\)/)
})
