/** Places in the gateway file, written as a reader finds them: `routes[2].roles.DELETE`. */

export type Path = ReadonlyArray<string | number>

const IDENTIFIER = /^[A-Za-z_*][A-Za-z0-9_-]*$/

export function formatPath (path: Path): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else if (IDENTIFIER.test(part)) out += out === '' ? part : `.${part}`
    else out += `[${JSON.stringify(part)}]`
  }
  return out === '' ? '(top level)' : out
}

/** A JSON Pointer (`/routes/2/roles/DELETE`) as a Path; array indexes become numbers. */
export function pointerToPath (pointer: string): Path {
  if (pointer === '') return []
  return pointer.slice(1).split('/').map((raw) => {
    const part = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    return /^\d+$/.test(part) ? Number(part) : part
  })
}
