/**
 * The shape every pipeline stage has (the numbered list is in index.ts).
 *
 * - a stage returns nothing to go on, `true` once it has answered (the pipeline ends there),
 *   or a promise of either when it really waits (a cache miss, a Redis-counted limit)
 * - it refuses by throwing: the error handler (errors.ts) turns the error into the answer
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { GatewaySession } from './session.js'

export type StageResult = void | boolean | Promise<void | boolean>

export type Stage = (request: FastifyRequest, reply: FastifyReply, session: GatewaySession) => StageResult
