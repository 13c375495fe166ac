/**
 * What a verified token's claims must look like to become identity headers (stage 5, for every
 * provider): values that are safe as header values, roles that survive the comma-separated
 * `x-user-roles`.
 */

const HEADER_SAFE = /^[\x21-\x7e]{1,256}$/

/** Visible ASCII, 1-256 characters: it becomes an outgoing header value. */
export const isHeaderSafe = (value: unknown): value is string => typeof value === 'string' && HEADER_SAFE.test(value)

const ROLE = /^[\x21-\x2b\x2d-\x7e]{1,64}$/ // and no ',' (the roles separator)
const MAX_ROLES = 64

/** At most 64 roles, each visible ASCII without a comma. */
export const isRoleList = (value: unknown): value is string[] =>
  Array.isArray(value) && value.length <= MAX_ROLES && value.every((r) => typeof r === 'string' && ROLE.test(r))
