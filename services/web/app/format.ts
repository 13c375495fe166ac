/**
 * Display formatting shared by the pages.
 */

/** An ISO timestamp in the reader's locale; the raw text when it does not parse. */
export function when (iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString()
}
