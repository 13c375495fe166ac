/**
 * Real RS256 keys and access tokens for tests (jose), and a throwaway JWKS server that
 * counts its fetches.
 */
import { randomUUID } from 'node:crypto'
import Fastify, { type FastifyInstance } from 'fastify'
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'
import { DEFAULT_AUDIENCE, DEFAULT_ISSUER } from '../../auth-service/src/contract.js'
import type { Teardown } from './wait.js'

export interface Signer { kid: string, privateKey: CryptoKey, publicKey: CryptoKey, jwk: JWK }

export async function createSigner (kid = `k-${randomUUID().slice(0, 8)}`): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...await exportJWK(publicKey), kid, alg: 'RS256', use: 'sig' }
  return { kid, privateKey, publicKey, jwk }
}

export interface TokenOptions {
  claims?: Record<string, unknown>
  header?: Record<string, unknown>
  /** Remove these claims from the defaults. */
  omit?: string[]
}

export async function signToken (signer: Signer, opts: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = {
    iss: DEFAULT_ISSUER,
    aud: DEFAULT_AUDIENCE,
    sub: 'user-1',
    sid: `sid-${randomUUID()}`,
    jti: randomUUID(),
    roles: ['user'],
    iat: now,
    exp: now + 900,
    ...opts.claims,
  }
  for (const name of opts.omit ?? []) delete claims[name]
  return await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: signer.kid, typ: 'at+jwt', ...opts.header } as { alg: string })
    .sign(signer.privateKey)
}

export interface JwksServer {
  url: string,
  port: number,
  fetches: () => number,
  setKeys: (keys: JWK[]) => void,
  close: () => Promise<void>,
  restart: () => Promise<void>,
}

export async function startJwksServer (t: Teardown, keys: JWK[]): Promise<JwksServer> {
  let current = keys
  let fetches = 0
  let app: FastifyInstance
  let port = 0
  const start = async () => {
    app = Fastify()
    app.get('/.well-known/jwks.json', async (_req, reply) => {
      fetches++
      reply.header('cache-control', 'public, max-age=300')
      return { keys: current }
    })
    await app.listen({ host: '127.0.0.1', port })
    port = (app.server.address() as { port: number }).port
  }
  await start()
  let closed = false
  t.teardown(async () => { if (!closed) await app.close() })
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    fetches: () => fetches,
    setKeys: (k) => { current = k },
    close: async () => { closed = true; await app.close() },
    restart: async () => { closed = false; await start() },
  }
}
