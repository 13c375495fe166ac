/**
 * Request bodies are JSON or nothing.
 * - Anything else is a 415, not a string that fails validation.
 * - An empty JSON body (a browser's bodiless `fetch` with a JSON content type, e.g. a cookie
 *   refresh) counts as no body; the schemas still decide what is required.
 */
import type { FastifyInstance } from 'fastify'

export function acceptJsonOnly (app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain')
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString()
    if (text === '') done(null, undefined)
    else parseJson(request, text, done)
  })
}
