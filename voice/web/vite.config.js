// The build lands in voice/web/dist, which the voice service serves at `/` (committed, so
// `make run` needs no Node). Rebuild with `npm ci && npm run build` after changing src/.
import { defineConfig } from "vite";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, assetsDir: "assets" },
});
