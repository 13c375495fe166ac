/** `npm run config:schema`: writes gateway/gateway.schema.json from the one schema (a test keeps them equal). */
import { writeFileSync } from 'node:fs'
import { gatewayJsonSchema, GATEWAY_SCHEMA_FILE } from '../gateway/src/gateway-file/json-schema.js'

writeFileSync(GATEWAY_SCHEMA_FILE, gatewayJsonSchema())
console.log(`wrote ${GATEWAY_SCHEMA_FILE}`)
