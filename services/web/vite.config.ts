/**
 * Vite build of the SPA: `npm run build` → services/web/dist (index.html + hashed
 * /assets/*). No inline scripts or styles end up in the output, so the strict CSP holds.
 */
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

const root = fileURLToPath(new URL('.', import.meta.url))

export default defineConfig({
  root,
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Assets are never inlined as data: URLs into scripts or styles.
    assetsInlineLimit: 0,
    // The preload polyfill would be injected as extra script; every target browser has modulepreload.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
  },
})
