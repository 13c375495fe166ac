/** `npm run config:check -- FILE`: validate a gateway file (default GATEWAY_CONFIG, else the shipped one). */
import { checkGatewayFile } from '../gateway/src/gateway-file/check.js'
import { DEFAULT_GATEWAY_FILE } from '../gateway/src/gateway-file/index.js'

const path = process.argv[2] ?? (process.env.GATEWAY_CONFIG || DEFAULT_GATEWAY_FILE)
const { exitCode, output } = await checkGatewayFile(path, process.env)
;(exitCode === 0 ? console.log : console.error)(output)
process.exitCode = exitCode
