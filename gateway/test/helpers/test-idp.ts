/**
 * A second identity provider on loopback, as Keycloak or Auth0 look to the gateway: OIDC
 * discovery (/.well-known/openid-configuration naming its issuer and jwks_uri), a JWKS with an
 * ES256 and an RS256 key, and tokens signed by either, with roles where Keycloak puts them
 * (realm_access.roles). It can rotate to a new key, go down and come back.
 */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import type { Teardown } from '../../../scripts/testing/wait.js'

interface IdpKey { kid: string, alg: 'ES256' | 'RS256', privateKey: CryptoKey, jwk: JWK }

async function newKey (alg: IdpKey['alg']): Promise<IdpKey> {
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, jwk: { ...await exportJWK(publicKey), kid, alg, use: 'sig' } }
}

export interface TestIdp {
  issuer: string
  audience: string
  /** A token for `sub` with `claims` over the defaults (iss, aud, exp in 5 minutes, realm_access.roles). */
  sign: (sub: string, claims?: Record<string, unknown>, opts?: { alg?: IdpKey['alg'], kid?: string }) => Promise<string>
  /** A new ES256 key, published; tokens sign with it from now on. */
  rotate: () => Promise<void>
  jwksFetches: () => number
  stop: () => Promise<void>
  start: () => Promise<void>
}

export async function startTestIdp (t: Teardown, audience = 'orders-api'): Promise<TestIdp> {
  const keys: IdpKey[] = [await newKey('ES256'), await newKey('RS256')]
  let fetches = 0
  let port = 0
  let app: FastifyInstance | null = null
  const issuerOf = () => `http://127.0.0.1:${port}/realms/acme`
  const start = async () => {
    const server = Fastify()
    server.get('/realms/acme/.well-known/openid-configuration', async () => ({
      issuer: issuerOf(),
      jwks_uri: `${issuerOf()}/protocol/openid-connect/certs`,
    }))
    server.get('/realms/acme/protocol/openid-connect/certs', async () => {
      fetches++
      return { keys: keys.map((k) => k.jwk) }
    })
    await server.listen({ host: '127.0.0.1', port })
    port = (server.server.address() as { port: number }).port
    app = server
  }
  await start()
  t.teardown(async () => { await app?.close() })
  const issuer = issuerOf()
  return {
    issuer,
    audience,
    async sign (sub, claims = {}, opts = {}) {
      const alg = opts.alg ?? 'ES256'
      const key = [...keys].reverse().find((k) => k.alg === alg)!
      const now = Math.floor(Date.now() / 1000)
      return await new SignJWT({ iss: issuer, aud: audience, sub, iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg, kid: opts.kid ?? key.kid, typ: 'JWT' })
        .sign(key.privateKey)
    },
    async rotate () { keys.push(await newKey('ES256')) },
    jwksFetches: () => fetches,
    async stop () { await app?.close(); app = null },
    start,
  }
}
