import { defineConfig } from 'vite';

// Served by pgstack-controller at /ui/ (src/console): hashed files under /ui/assets/ are cached for a
// year, index.html is revalidated. No inline script or style, so the controller's CSP needs no hashes.
export default defineConfig({
  base: '/ui/',
  build: {
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: true,
  },
});
