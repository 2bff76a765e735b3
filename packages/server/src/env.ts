import { z } from 'zod';

/** Settings read from the environment, checked once at start. Secrets never have a default. */
const EnvSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  REGISTRA_DATA_DIR: z.string().default('./.registra'),
  REGISTRA_CONFIG: z.string().default('civil-registry'),
  REGISTRA_DEMO_PASSWORD: z.string().min(8).default('registra-demo'),
  REGISTRA_SEED_DEMO_USERS: z.enum(['true', 'false']).default('true'),
  REGISTRA_SIGNING_KEY: z.string().optional(),
  REGISTRA_PG_PORT: z.coerce.number().int().min(1).max(65535).default(5433),
  /** HTTP processes sharing the port (node:cluster); more than one uses more than one core. */
  REGISTRA_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  /** The deployment's public URL: the issuer id of its credentials and where status lists are. */
  REGISTRA_PUBLIC_URL: z.string().url().optional(),
  /** The Chromium that prints certificates to PDF. */
  REGISTRA_CHROMIUM: z.string().default('/usr/bin/chromium'),
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type Env = z.infer<typeof EnvSchema>;

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment:\n${problems.join('\n')}`);
  }
  return parsed.data;
}
