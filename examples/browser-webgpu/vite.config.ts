import { defineConfig } from 'vite';
import { repoFiles } from './repo-files.js';

export default defineConfig({
  plugins: [repoFiles()],
  // Top-level await and the other ES2022 features core uses.
  build: { target: 'es2022' },
  server: { port: 5173 },
  preview: { port: 4173 },
});
