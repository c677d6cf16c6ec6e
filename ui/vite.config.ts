import { defineConfig } from "vite";

// The UI is plain TypeScript + Lit: no framework plugin, so Vite builds it
// as is. Output goes to ui/dist, which Tauri embeds and `pincer serve --ui`
// serves in web mode.
export default defineConfig({
  root: import.meta.dirname,
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // No inline scripts or styles anywhere: the CSP allows only 'self'.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
  },
});
