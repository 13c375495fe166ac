/**
 * The gateway file's schema (TypeBox: validation and types from one source). The same schema
 * checks the file at start-up, on reload and in `npm run config:check`, and is published as
 * gateway/gateway.schema.json for editors. Semantic rules that a schema cannot say (duplicate
 * ids, overlapping routes, unknown providers) are in validate.ts.
 */
import { Type, type Static } from 'typebox'

export const HTTP_METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'] as const

const Id = Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$', description: 'lower case, digits and -, 1-32 characters' })
const PathPrefix = Type.String({
  pattern: '^/([A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*)?$',
  description: 'a path like /api/orders (no trailing slash); / is the catch-all',
})
const HttpUrl = Type.String({ minLength: 1, maxLength: 2048, description: 'an http:// or https:// URL' })
const Method = Type.Union([
  Type.Literal('DELETE'), Type.Literal('GET'), Type.Literal('HEAD'), Type.Literal('PATCH'),
  Type.Literal('POST'), Type.Literal('PUT'), Type.Literal('OPTIONS'),
])
const Role = Type.String({ pattern: '^[\\x21-\\x2b\\x2d-\\x7e]{1,64}$', description: 'visible ASCII, no comma' })
const ClaimPath = Type.String({
  pattern: '^[A-Za-z0-9_:-]+(\\.[A-Za-z0-9_:-]+)*$',
  description: 'a dot path, e.g. realm_access.roles',
})
const StringOrList = Type.Union([
  Type.String({ minLength: 1, maxLength: 512 }),
  Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 32 }),
])

export const ProviderSchema = Type.Object({
  id: Id,
  issuer: Type.String({ minLength: 1, maxLength: 512, description: 'the exact `iss` of its tokens' }),
  audience: StringOrList,
  jwksUrl: Type.Optional(HttpUrl),
  discovery: Type.Optional(Type.Boolean({ description: 'JWKS by {issuer}/.well-known/openid-configuration' })),
  algorithms: Type.Optional(Type.Array(Type.Union([Type.Literal('RS256'), Type.Literal('ES256')]), { minItems: 1 })),
  subjectClaim: Type.Optional(ClaimPath),
  rolesClaim: Type.Optional(ClaimPath),
  clockTolerance: Type.Optional(Type.Number({ minimum: 0, maximum: 300, description: 'seconds' })),
  revocation: Type.Optional(Type.Boolean({ description: "this project's auth service: its revocations apply" })),
}, { additionalProperties: false })

export const RateLimitSchema = Type.Object({
  key: Type.Union([Type.Literal('user'), Type.Literal('ip')]),
  perMinute: Type.Integer({ minimum: 1, maximum: 1_000_000_000 }),
  methods: Type.Optional(Type.Array(Method, { minItems: 1 })),
  paths: Type.Optional(Type.Array(PathPrefix, { minItems: 1, description: 'paths counted, each on its own' })),
  bucket: Type.Optional(Type.String({
    pattern: '^[a-z][a-z0-9-]{0,31}$',
    description: 'routes naming the same bucket share one counter (default: the route id)',
  })),
}, { additionalProperties: false })

export const WebSocketSchema = Type.Object({
  maxMessageBytes: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 64 * 1024 * 1024,
    description: 'the largest message either way; over it the socket closes (1009)',
  })),
  maxBufferedBytes: Type.Optional(Type.Integer({
    minimum: 1024,
    maximum: 64 * 1024 * 1024,
    description: 'bytes queued for a slow reader before the sender is paused (backpressure)',
  })),
}, { additionalProperties: false })

export const RouteSchema = Type.Object({
  id: Id,
  prefix: PathPrefix,
  exact: Type.Optional(Type.Boolean({ description: 'the prefix path only, no sub-paths' })),
  methods: Type.Optional(Type.Array(Method, { minItems: 1 })),
  upstream: HttpUrl,
  rewritePrefix: Type.Optional(PathPrefix),
  auth: Type.Optional(Type.Union([Type.Literal('required'), Type.Literal('optional'), Type.Literal('none')])),
  providers: Type.Optional(Type.Array(Id, { minItems: 1 })),
  roles: Type.Optional(Type.Record(Type.String(), Type.Array(Role))),
  rateLimit: Type.Optional(Type.Union([RateLimitSchema, Type.Literal(false)])),
  csrf: Type.Optional(Type.Union([Type.Literal('double-submit'), Type.Literal('origin'), Type.Literal('none')])),
  forwardCredentials: Type.Optional(Type.Boolean({ description: 'forward Authorization and the auth cookies' })),
  timeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000, description: 'ms for the upstream to answer' })),
  bodyLimit: Type.Optional(Type.Integer({ minimum: 0, maximum: 1024 * 1024 * 1024, description: 'bytes' })),
  websocket: Type.Optional(Type.Union([Type.Boolean(), WebSocketSchema], {
    description: 'proxy WebSocket upgrades (GET); an object sets the per-socket limits',
  })),
  idleTimeout: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 86_400_000,
    description: 'ms: a WebSocket or event stream with nothing sent either way is closed',
  })),
  maxLifetime: Type.Optional(Type.Integer({
    minimum: 1,
    maximum: 604_800_000,
    description: "ms: a WebSocket or event stream is closed at this age (the token's exp comes first)",
  })),
  identity: Type.Optional(Type.Union([Type.Literal('both'), Type.Literal('headers'), Type.Literal('assertion')], {
    description: 'what tells the upstream who calls: the x-user-* headers and the signed x-identity-token ' +
      '(both, the default), the headers only, or the assertion only',
  })),
}, { additionalProperties: false })

export const GatewayFileSchema = Type.Object({
  $schema: Type.Optional(Type.String()),
  providers: Type.Array(ProviderSchema, { minItems: 1 }),
  routes: Type.Array(RouteSchema, { minItems: 1 }),
  notFoundPrefixes: Type.Optional(Type.Array(PathPrefix, {
    description: 'paths under these never fall through to a shorter route: an unknown one is a JSON 404',
  })),
}, { additionalProperties: false, title: 'jwt-edge gateway file' })

export type ProviderEntry = Static<typeof ProviderSchema>
export type RouteEntry = Static<typeof RouteSchema>
export type GatewayFileEntries = Static<typeof GatewayFileSchema>
