/** The gateway file's schema as a JSON Schema document, for editors (yaml-language-server, VS Code). */
import { GatewayFileSchema } from './schema.js'

export const GATEWAY_SCHEMA_FILE = 'gateway/gateway.schema.json'

export function gatewayJsonSchema (): string {
  const schema = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...GatewayFileSchema }
  return `${JSON.stringify(schema, null, 2)}\n`
}
