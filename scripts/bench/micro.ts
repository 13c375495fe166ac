/**
 * Micro-figures for `npm run bench`, in their own process (pinned to the target core):
 * RS256 verifications per CPU-second of raw node:crypto verify, of jose jwtVerify
 * (WebCrypto, on the libuv pool: CPU of every thread counts), of the gateway's authenticate()
 * with the fast path and with jose (no cache: every call a full verification), and of a
 * cache hit, and of a DPoP proof check (services/kernel/dpop.ts verifyDpopProof: ES256 signature by the
 * embedded key, claims, ath, thumbprint; the replay claim is one Redis SET NX on top, not counted here).
 * The operations take turns in short slices, so a busy machine slows them alike.
 * Prints one JSON line. BENCH_MICRO_SECONDS per figure.
 */
import { KeyObject, verify as cryptoVerify } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify, type CryptoKey } from 'jose'
import {
  ACCESS_TOKEN_ALG, ACCESS_TOKEN_TYP, DEFAULT_AUDIENCE, DEFAULT_ISSUER, REQUIRED_CLAIMS,
} from '../../auth-service/src/contract.js'
import { createAuthenticator } from '../../gateway/src/pipeline/authenticate.js'
import { createTokenCache } from '../../gateway/src/pipeline/token-cache.js'
import { verifyDpopProof } from '../../services/kernel/dpop.js'
import { createDpopKey, makeProof } from '../testing/dpop.js'

const seconds = Number(process.env.BENCH_MICRO_SECONDS ?? 2)

const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
const key = await importJWK({ ...await exportJWK(publicKey), alg: 'RS256' }, 'RS256') as CryptoKey
const now = Math.floor(Date.now() / 1000)
const token = await new SignJWT({ sub: 'bench-user', sid: 'bench-sid', jti: 'bench-jti', roles: ['user'] })
  .setProtectedHeader({ alg: 'RS256', kid: 'bench', typ: 'at+jwt' })
  .setIssuer(DEFAULT_ISSUER).setAudience(DEFAULT_AUDIENCE).setIssuedAt(now).setExpirationTime(now + 3600)
  .sign(privateKey)
const getKey = async () => key

interface Op { name: string, op: () => unknown, concurrency: number, n: number, cpuUs: number }

/** One slice of ~50 ms of `op`; its count and the process CPU time (all threads) it took. */
async function slice (o: Op): Promise<void> {
  const cpu0 = process.cpuUsage()
  const end = performance.now() + 50
  while (performance.now() < end) {
    if (o.concurrency === 1) {
      for (let i = 0; i < 20; i++) await o.op()
      o.n += 20
    } else {
      await Promise.all(Array.from({ length: o.concurrency }, o.op))
      o.n += o.concurrency
    }
  }
  const cpu = process.cpuUsage(cpu0)
  o.cpuUs += cpu.user + cpu.system
}

async function rates (ops: Op[]): Promise<Record<string, number>> {
  for (const o of ops) for (let i = 0; i < 200; i++) await o.op() // warm-up
  const end = performance.now() + seconds * 1000 * ops.length
  while (performance.now() < end) for (const o of ops) await slice(o)
  return Object.fromEntries(ops.map((o) => [o.name, o.n / (o.cpuUs / 1e6)]))
}

const dot = token.lastIndexOf('.')
const signingInput = Buffer.from(token.slice(0, dot))
const signature = Buffer.from(token.slice(dot + 1), 'base64url')
const keyObject = KeyObject.from(key as unknown as Parameters<typeof KeyObject.from>[0])
const expected = { issuer: DEFAULT_ISSUER, audience: DEFAULT_AUDIENCE }
const joseOptions = {
  ...expected,
  algorithms: [ACCESS_TOKEN_ALG],
  typ: ACCESS_TOKEN_TYP,
  requiredClaims: [...REQUIRED_CLAIMS],
  clockTolerance: 5,
}
const common = { ...expected, clockToleranceS: 5, maxTokenBytes: 8192, getKey, isRevoked: () => false }
const fastAuth = createAuthenticator({ ...common, verifyImplementation: 'fast' })
const joseAuth = createAuthenticator({ ...common, verifyImplementation: 'jose' })
const cache = createTokenCache({ maxEntries: 10, ttlMs: 3_600_000 })
const cachedAuth = createAuthenticator({ ...common, cache, isCurrentKey: (k) => k === key })
const input = { authorization: [`Bearer ${token}`], cookie: undefined }

const dpopKey = await createDpopKey('ES256')
const htu = 'https://api.example.test/api/orders'
const proof = await makeProof(dpopKey, { htm: 'GET', htu, accessToken: token, claims: { iat: now } })
const proofExpect = { method: 'GET', urls: [htu], accessToken: token, nowS: now, windowS: 60 }

const op = (name: string, fn: () => unknown, concurrency = 1): Op => ({ name, op: fn, concurrency, n: 0, cpuUs: 0 })
const result = await rates([
  op('rawVerify', () => cryptoVerify('RSA-SHA256', signingInput, keyObject, signature)),
  op('joseVerify', () => jwtVerify(token, getKey, joseOptions), 32),
  op('gatewayFast', () => fastAuth(input)),
  op('gatewayJose', () => joseAuth(input), 32),
  op('gatewayCacheHit', () => cachedAuth(input)),
  op('dpopProofCheck', () => verifyDpopProof(proof, proofExpect), 32),
])
console.log(JSON.stringify(result))
