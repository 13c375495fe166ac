/** Free loopback ports for tests (the implementation is local-redis/ports.ts: npm start needs it too). */
export { freePort, portIsFree } from '../local-redis/ports.js'
