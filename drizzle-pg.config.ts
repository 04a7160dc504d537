import { defineConfig } from 'drizzle-kit';

// The PostgreSQL migrations (db/pg); the SQLite ones stay in db/ (drizzle.config.ts).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema-pg.ts',
  out: './db/pg',
});
